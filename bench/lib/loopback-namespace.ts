/**
 * Benches that run WebRTC (Chromium, the edge's ICE) run inside a loopback-only network namespace
 * like the tests (test/support/netns.ts): `inLoopbackNamespace(main)` runs `main` when this process
 * already sees loopback alone, and otherwise runs the same command line again inside a new namespace
 * (`unshare -n`, lo up) and exits with its code. The re-run is marked in the environment, so a
 * namespace that still has other interfaces is an error, not a loop.
 */
import { spawn } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { loopbackNamespaceCommand } from '../../test/support/netns.ts';

const IN_NAMESPACE_ENV = 'CG_BENCH_LOOPBACK_NAMESPACE';

function loopbackOnly(): boolean {
  return Object.keys(networkInterfaces()).every((name) => name === 'lo');
}

/** Runs this bench again inside a new loopback-only network namespace; resolves with its exit code. */
async function rerunInLoopbackNamespace(): Promise<number> {
  const { command, args } = loopbackNamespaceCommand([process.execPath, ...process.argv.slice(1)]);
  const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, [IN_NAMESPACE_ENV]: '1' } });
  // Ctrl-C reaches the inner run too (same process group): it stops its processes and exits. Forward a kill.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  return new Promise((resolve) => {
    child.once('error', (error) => { console.error(`cannot start the namespace: ${error.message}`); resolve(1); });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Runs `main` in a loopback-only network namespace (this process, or a re-run of it in a new one). */
export async function inLoopbackNamespace(main: () => Promise<void>): Promise<void> {
  if (loopbackOnly()) return main();
  if (process.env[IN_NAMESPACE_ENV]) {
    console.error(`the network namespace still has other interfaces (${Object.keys(networkInterfaces()).join(', ')}): refusing to run WebRTC outside loopback`);
    process.exit(1);
  }
  process.exit(await rerunInLoopbackNamespace());
}
