/**
 * How the benchmarks start each RTMP server under comparison: our origin, nginx with the RTMP
 * module, and node-media-server 4. Each listens on 127.0.0.1 only, serves application `live`,
 * records nothing, and keeps every file it writes inside the given temp dir.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, type Started } from './processes.ts';
// The players all come from 127.0.0.1: the per-address limits are lifted for the server under test (the others have none).
import { ONE_ADDRESS_LOAD_ARGS } from '../../test/support/from-address.ts';
// Our origin runs with the node flags production uses (npm start, the systemd units).
import { PRODUCTION_NODE_FLAGS } from '../../test/support/processes.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Node 24 from the repo (the system Node cannot run .ts); NMS runs on it too, for a like-for-like runtime. */
export const nodeBin = join(repoRoot, 'node_modules/.bin/node');

export interface ServerKind {
  name: string;
  /** Starts the server on 127.0.0.1:`port`, with all its files under `dir`. */
  start(dir: string, port: number): Started;
}

/** Our origin; `mediaFlushMs` (its --media-flush-ms) other than the default makes a variant named `origin@<ms>ms`. */
export function originServer(mediaFlushMs?: number): ServerKind {
  const flushArgs = mediaFlushMs === undefined ? [] : ['--media-flush-ms', String(mediaFlushMs)];
  return {
    name: mediaFlushMs === undefined ? 'origin' : `origin@${mediaFlushMs}ms`,
    start(dir, port) {
      const dataDir = join(dir, 'data');
      mkdirSync(dataDir);
      return start(
        'origin',
        nodeBin,
        [...PRODUCTION_NODE_FLAGS, join(repoRoot, 'origin/main.ts'), '--bind', '127.0.0.1', '--rtmp-port', String(port), '--http-port', '0', '--data-dir', dataDir, ...flushArgs, ...ONE_ADDRESS_LOAD_ARGS],
        { logFile: join(dir, 'server.log'), cwd: repoRoot },
      );
    },
  };
}

const origin = originServer();

const nginx: ServerKind = {
  name: 'nginx',
  start(dir, port) {
    // master_process off: one process does all the work, so its /proc times are the whole cost.
    const conf = `load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
rtmp {
    access_log off;
    server {
        listen 127.0.0.1:${port};
        application live { live on; }
    }
}
`;
    writeFileSync(join(dir, 'nginx.conf'), conf);
    // -e: nginx opens its compiled-in error log before reading the config unless told otherwise.
    return start('nginx', 'nginx', ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
      logFile: join(dir, 'server.log'),
    });
  },
};

const nms: ServerKind = {
  name: 'nms',
  start(dir, port) {
    // An explicit config in the temp dir: NMS would otherwise use (and write secrets into) its
    // own bin/config.json. No http/https/rtmps ports means those servers are not started; a
    // preset auth secret and no JWT users means nothing is generated or written back.
    const config = {
      bind: '127.0.0.1',
      notify: { url: '' },
      store: { path: join(dir, 'data') },
      auth: { play: false, publish: false, secret: 'bench-only-not-a-secret' },
      rtmp: { port },
      webadmin: { enable: false },
      record: { auto: false, path: join(dir, 'record') },
    };
    const configPath = join(dir, 'nms.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    return start('nms', nodeBin, [join(repoRoot, 'node_modules/node-media-server/bin/app.js'), '-c', configPath], {
      logFile: join(dir, 'server.log'),
      cwd: dir,
    });
  },
};

export const serverKinds: Readonly<Record<string, ServerKind>> = { origin, nginx, nms };
