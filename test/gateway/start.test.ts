/**
 * `npm start` (root main.ts): an origin and one edge in one process; the link secret is generated
 * once into <data-dir>/link-secret (mode 0600) and reused on the next start; clients connect
 * through the edge.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RtmpClient } from '#common/rtmp-client.ts';
import { repoRoot, stop, stopAll, tempDir, track, watchLogs } from '../support/processes.ts';

after(stopAll);

async function startBoth(dataDir: string) {
  const child = track(spawn(process.execPath, ['main.ts', '--bind', '127.0.0.1', '--rtmp-port', '0', '--http-port', '0', '--link-port', '0', '--edge-port', '0', '--edge-http-port', '0', '--data-dir', dataDir], {
    cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'],
  }));
  const { waitForLog } = watchLogs(child, 'main.ts');
  const line = await waitForLog(/\[edge [^\]]+\] RTMP listening/);
  await waitForLog(/link up/);
  return { child, edgePort: Number(/rtmp:\/\/[^ ]*:(\d+)/.exec(line)![1]) };
}

test('origin and edge start together; the generated secret is private and kept', async () => {
  const dataDir = tempDir();
  const first = await startBoth(dataDir);
  const file = join(dataDir, 'link-secret');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const secret = readFileSync(file, 'utf8');
  const { client, info } = await RtmpClient.connect(`rtmp://127.0.0.1:${first.edgePort}/live`);
  assert.equal(info.code, 'NetConnection.Connect.Success');
  client.close();
  await stop(first.child);
  const second = await startBoth(dataDir);
  assert.equal(readFileSync(file, 'utf8'), secret);
  await stop(second.child);
});
