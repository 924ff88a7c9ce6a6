/**
 * WebRTC tests run inside a loopback-only network namespace (`unshare -n`, then `ip link set lo up`)
 * so that no ICE candidate and no media can reach any address but 127.0.0.1. A `*.test.ts` file
 * registers one test that runs its companion `*.netns.ts` file (plain node:test tests) there with
 * node's test runner, and passes when every test inside passed; the inner output is shown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { relative } from 'node:path';
import { repoRoot, track } from './processes.ts';

/** The `unshare` command line that runs `argv` in a new network namespace whose only interface is loopback, up (tests and benches). */
export function loopbackNamespaceCommand(argv: string[]): { command: string; args: string[] } {
  return { command: 'unshare', args: ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...argv] };
}

export function testInLoopbackNamespace(innerFile: string, timeoutMs = 300_000): void {
  const file = relative(repoRoot, innerFile);
  test(`${file} in a loopback-only network namespace`, { timeout: timeoutMs }, async () => {
    const { command, args } = loopbackNamespaceCommand([process.execPath, '--test', '--test-reporter=spec', file]);
    const child = track(spawn(command, args, {
      // The inner runner is a run of its own, not a subtest of this one.
      cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_TEST_CONTEXT: undefined },
    }));
    let output = '';
    child.stdout!.on('data', (d) => { output += d; process.stdout.write(d); });
    child.stderr!.on('data', (d) => { output += d; process.stderr.write(d); });
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, `tests in the namespace failed:\n${output.slice(-4000)}`);
    assert.match(output, /ℹ pass [1-9]/, 'the inner run passed tests');
  });
}
