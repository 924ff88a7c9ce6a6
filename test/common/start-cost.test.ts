/**
 * What a server's start costs, which a restarted edge's clients wait for (issue 14, "Faults";
 * bench:faults measures the times): each entry point (main.ts, origin/main.ts, gateway/main.ts)
 * turns Node's compile cache on before it loads the server's modules and has written them to the
 * cache folder before it listens, so by its ready report (common/compile-cache.ts): the next
 * start, even after a kill -9, reads them compiled. And an edge no browser reached over WebRTC has
 * not loaded node-datachannel's native library, nor the WebRTC sessions' modules, nor (with no
 * token checked and no WebSocket) jose and ws, nor (with no config file) yaml, nor (without
 * --cluster) cluster mode's modules: those load on first use (common/lazy-require.ts); nor
 * @opentelemetry/api, which only prom-client's CPU metric's exemplars use (common/metrics/registry.ts).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRODUCTION_NODE_FLAGS, startOrigin, stop, stopAll, tempDir } from '../support/processes.ts';
import { startEdge, startLocalCluster } from '../support/cluster.ts';
import { InspectorSession } from '../support/inspector.ts';
import { freePort } from '../support/free-port.ts';

after(stopAll);

/**
 * Fewer modules than a server loads: the origin's graph alone has about a hundred of ours and
 * many more of its packages. Entries made only by what loads after the start (an entry point that
 * turned the cache on after its static imports) stay far below.
 */
const MIN_CACHED_MODULES = 100;

/** A fresh cache folder for the servers started from now on (they inherit this process's environment). */
function freshCacheFolder(): string {
  const folder = tempDir('cg-compile-cache-');
  process.env.NODE_COMPILE_CACHE = folder;
  return folder;
}

/** The cache's entries in `folder` (Node keeps them in a subfolder per Node version and V8 flags). */
function cachedModules(folder: string): number {
  return readdirSync(folder, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length;
}

test('each entry point has written its modules to the compile cache by its ready report', async () => {
  const originCache = freshCacheFolder();
  const origin = await startOrigin(['--link-port', '0', '--link-secret', 'start-cost-secret']);
  try {
    assert.ok(cachedModules(originCache) >= MIN_CACHED_MODULES, `origin/main.ts: ${cachedModules(originCache)} modules in the cache`);

    const edgeCache = freshCacheFolder();
    const edge = await startEdge('start-cost', `127.0.0.1:${origin.linkPort}`, 'start-cost-secret', { waitForLink: false });
    assert.ok(cachedModules(edgeCache) >= MIN_CACHED_MODULES, `gateway/main.ts: ${cachedModules(edgeCache)} modules in the cache`);
    await edge.stop();
  } finally {
    await origin.stop();
  }

  const bothCache = freshCacheFolder();
  const both = await startLocalCluster(tempDir());
  try {
    assert.ok(cachedModules(bothCache) >= MIN_CACHED_MODULES, `main.ts: ${cachedModules(bothCache)} modules in the cache`);
  } finally {
    await stop(both.child);
  }
});

test('an edge no browser reached over WebRTC has not loaded node-datachannel\'s native library', async () => {
  const origin = await startOrigin(['--link-port', '0', '--link-secret', 'start-cost-secret']);
  try {
    const edge = await startEdge('no-webrtc', `127.0.0.1:${origin.linkPort}`, 'start-cost-secret');
    const mapped = readFileSync(join('/proc', String(edge.child.pid), 'maps'), 'utf8');
    assert.ok(!mapped.includes('node_datachannel'), 'libdatachannel is not mapped into the edge');
    await edge.stop();
  } finally {
    await origin.stop();
  }
});

/** What an idle edge without a config file nor --cluster must not have loaded: the WebRTC sessions (RTP, transcoders, feeds), jose, ws, yaml, @opentelemetry/api, cluster mode. */
const LOADED_ON_FIRST_USE = [
  /\/gateway\/webrtc\/(webrtc-publish-session|webrtc-play-session|webrtc-ingest|webrtc-egress|webrtc-feeds|forwarded-play|opus-to-aac)\.ts$/,
  /\/protocol\/rtp\//, /\/node_modules\/jose\//, /\/node_modules\/ws\//, /\/node_modules\/yaml\//, /\/node_modules\/@opentelemetry\//,
  /\/gateway\/link\/cluster-links\.ts$/, /\/origin\/cluster\//,
];

test('an idle edge has not loaded the WebRTC sessions\' modules, jose, ws, yaml, @opentelemetry/api nor cluster mode\'s modules', async () => {
  const origin = await startOrigin(['--link-port', '0', '--link-secret', 'start-cost-secret']);
  try {
    const inspectorPort = await freePort();
    const edge = await startEdge('idle', `127.0.0.1:${origin.linkPort}`, 'start-cost-secret', { nodeFlags: [...PRODUCTION_NODE_FLAGS, InspectorSession.nodeOption(inspectorPort)] });
    const inspector = await InspectorSession.attach(inspectorPort);
    let loaded: string[];
    try {
      loaded = await inspector.loadedScripts();
    } finally {
      inspector.close();
    }
    // What routes WHIP and WHEP offers is there: the list is the edge's modules.
    for (const routing of ['/gateway/edge.ts', '/gateway/webrtc/whip-endpoint.ts', '/gateway/webrtc/whep-endpoint.ts']) {
      assert.ok(loaded.some((url) => url.endsWith(routing)), `${routing} among the ${loaded.length} scripts loaded`);
    }
    const early = loaded.filter((url) => LOADED_ON_FIRST_USE.some((pattern) => pattern.test(url)));
    assert.deepEqual(early, [], 'loaded on first use only');
    await edge.stop();
  } finally {
    await origin.stop();
  }
});
