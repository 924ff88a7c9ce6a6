/**
 * Child processes and /proc measurements for the benchmarks. Every process a bench starts is
 * registered here so that it is stopped by its own handle on success, on error and on Ctrl-C,
 * never by name; temp dirs registered here are removed the same way.
 */

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
// Ports come from the tests' own helper; benchmarks import freePort from here as ever.
export { freePort } from '../../test/support/free-port.ts';

export interface Started {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  hasExited(): boolean;
}

const running = new Set<Started>();
const tempDirs = new Set<string>();

/** Starts a process with stdin closed and stdout/stderr appended to `logFile` (or discarded). */
export function start(name: string, command: string, args: string[], opts: { logFile?: string; cwd?: string } = {}): Started {
  const fd = opts.logFile ? openSync(opts.logFile, 'a') : null;
  const out = fd ?? 'ignore';
  const child = spawn(command, args, { cwd: opts.cwd, stdio: ['ignore', out, out] });
  // The child holds its own copy of the descriptor.
  if (fd !== null) closeSync(fd);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      done = true;
      resolve(`spawn failed: ${err.message}`);
    });
  });
  if (child.pid === undefined) {
    // spawn reports ENOENT and the like asynchronously through 'error'.
    return { name, child, pid: -1, exited, hasExited: () => true };
  }
  const started: Started = { name, child, pid: child.pid, exited, hasExited: () => done };
  running.add(started);
  void exited.then(() => running.delete(started));
  return started;
}

/** SIGTERM, then SIGKILL if the process has not exited after `graceMs`. */
export async function stop(p: Started, graceMs = 3000): Promise<void> {
  if (p.hasExited()) return;
  p.child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((resolve) => setTimeout(resolve, graceMs, 'timeout').unref());
  if ((await Promise.race([p.exited, timer])) === 'timeout' && !p.hasExited()) {
    p.child.kill('SIGKILL');
    await p.exited;
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => stop(p)));
}

export function registerTempDir(dir: string): void {
  tempDirs.add(dir);
}

export function removeTempDirs(): void {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/**
 * Ctrl-C / SIGTERM: stop everything, remove temp dirs, exit. The synchronous 'exit' hook is the
 * last resort for paths that skip the async cleanup (process.exit from elsewhere).
 */
export function installCleanupHandlers(): void {
  let cleaning = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (cleaning) return;
    cleaning = true;
    console.error(`\n${signal}: stopping ${running.size} child process(es) and removing temp dirs...`);
    void stopAll().finally(() => {
      removeTempDirs();
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    for (const p of running) if (!p.hasExited()) p.child.kill('SIGKILL');
    removeTempDirs();
  });
}

/**
 * The life of one benchmark run: cleanup handlers, a temp folder for its files, and whatever
 * happens (success, failure, exception) every process stopped and every temp folder removed.
 */
export async function runBench(label: string, body: (runDir: string) => Promise<void>): Promise<void> {
  installCleanupHandlers();
  const runDir = mkdtempSync(join(tmpdir(), `${label}-bench-`));
  registerTempDir(runDir);
  let failed = false;
  try {
    await body(runDir);
  } catch (error) {
    console.error(`${label} bench failed: ${(error as Error).message}`);
    failed = true;
  } finally {
    await stopAll();
    removeTempDirs();
  }
  if (failed) process.exit(1);
}

const clockTicks = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface CpuTimes {
  user: number;
  system: number;
}

/**
 * CPU seconds the hypervisor gave to others while this guest wanted them ("steal", summed over the
 * guest's CPUs, from /proc/stat): a window with steal ran on a busy host, and its figures are not
 * comparable with a quiet window's. 0 on bare metal or a kernel that does not count it.
 */
export function hostStealSeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  // cpu user nice system idle iowait irq softirq steal ...
  return Number(cpu[8] ?? 0) / clockTicks;
}

/** The fields of /proc/PID/stat after the command name (which is in parentheses and may itself contain spaces): state, ppid, ... */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds in user and kernel mode (all threads) the process has used, from /proc/PID/stat. */
export function cpuTimes(pid: number): CpuTimes {
  const fields = statFields(pid);
  // utime, stime, cutime, cstime are fields 14-17 of the whole line, 0-based 11-14 here.
  // Waited-for children are added: none of the servers should fork, but if one does, its
  // helpers' work is the server's work.
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number) as [number, number, number, number];
  return { user: (utime + cutime) / clockTicks, system: (stime + cstime) / clockTicks };
}

/**
 * CPU seconds `pid` has run, to the nanosecond where the kernel keeps scheduler statistics: the sum
 * of /proc/PID/task/TID/schedstat (time on a CPU) over its live threads, plus its reaped children's
 * user and kernel time. /proc/PID/stat counts in clock ticks (10 ms), far too coarse for the few
 * milliseconds a second that forwarding one stream costs. Threads that exited are not counted:
 * measure processes whose threads live as long as the window (servers, libdatachannel's pool).
 */
function preciseCpuSeconds(pid: number): number {
  const fields = statFields(pid);
  const reaped = (Number(fields[13]) + Number(fields[14])) / clockTicks;
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    throw new Error(`process ${pid} is gone`);
  }
  let nanoseconds = 0;
  for (const tid of tasks) {
    try {
      nanoseconds += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(`/proc/${pid}/task/${tid}`)) continue; // the thread just ended
      // No scheduler statistics in this kernel: clock ticks it is.
      const times = cpuTimes(pid);
      return times.user + times.system;
    }
  }
  return nanoseconds / 1e9 + reaped;
}

/**
 * CPU seconds of `pid` and every descendant alive now, each with the children it has reaped: a
 * server and the helper processes it runs (an edge's ffmpeg transcoders), which cpuTimes alone
 * counts only once they have exited. Precise to the nanosecond where schedstat exists (preciseCpuSeconds).
 */
export function treeCpuSeconds(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parent = Number(statFields(Number(entry))[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // Gone between the listing and the read.
    }
  }
  let total = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const next = pending.pop()!;
    try {
      total += preciseCpuSeconds(next);
    } catch {
      if (next === pid) throw new Error(`process ${pid} is gone`);
    }
    pending.push(...(children.get(next) ?? []));
  }
  return total;
}

/** Resident set size in MiB, from /proc/PID/status. */
export function rssMiB(pid: number): number {
  return procStatusMiB(pid, 'VmRSS');
}

/** A kB field of /proc/PID/status (VmRSS, RssAnon, ...) in MiB; NaN when the process has none. */
export function procStatusMiB(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Bytes received so far on every established TCP connection to 127.0.0.1:`port`, keyed by the
 * pid of the client process that owns the socket (tcp_info bytes_received, via `ss`). Counting
 * in the kernel works the same for any player program and costs the players nothing.
 */
export function bytesReceivedByClient(port: number): Map<number, number> {
  const out = execFileSync('ss', ['-tinpH', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
  const result = new Map<number, number>();
  let pid: number | null = null;
  for (const line of out.split('\n')) {
    const owner = /pid=(\d+)/.exec(line);
    if (owner) pid = Number(owner[1]);
    const received = /bytes_received:(\d+)/.exec(line);
    if (received && pid !== null) {
      result.set(pid, (result.get(pid) ?? 0) + Number(received[1]));
      pid = null;
    }
  }
  return result;
}

/** Waits until 127.0.0.1:`port` accepts connections; fails early if `owner` exits first. */
export async function waitForPort(port: number, owner: Started, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (owner.hasExited()) throw new Error(`${owner.name} exited (${await owner.exited}) before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${owner.name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
