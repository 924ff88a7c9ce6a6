/**
 * A small typed wrapper over an ffmpeg child process (fluent-ffmpeg is archived): an argument
 * builder, the process with piped stdin/stdout, the tail of its stderr kept for logs, and one
 * `exit` event that says whether it ended on request or failed. Never throws for a missing
 * binary or a crash: both arrive as `exit` with a reason.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { FlvReader, type FlvTag } from '#protocol/flv/flv.ts';

export interface FfmpegIo {
  /** Options placed before this input's `-i` or before this output's URL. */
  options: string[];
  url: string;
}

export interface FfmpegJob {
  /** Global options (after -hide_banner and -nostdin-free defaults). */
  global?: string[];
  inputs: FfmpegIo[];
  outputs: FfmpegIo[];
}

/** The command line for a job: global options, each input's options and `-i`, each output's options and URL. */
export function ffmpegArgs(job: FfmpegJob): string[] {
  return [
    '-hide_banner', '-loglevel', 'warning', ...(job.global ?? []),
    ...job.inputs.flatMap((input) => [...input.options, '-i', input.url]),
    ...job.outputs.flatMap((output) => [...output.options, output.url]),
  ];
}

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when `stop()` asked for it. */
  requested: boolean;
  /** A one-line reason: 'stopped', 'exited with code N', 'killed by SIG', or the spawn error. */
  reason: string;
  /** The last lines ffmpeg wrote to stderr. */
  stderr: string;
}

export interface FfmpegEvents {
  exit: [FfmpegExit];
}

const STDERR_LINES = 30;
const STOP_GRACE_MS = 2000;

export class FfmpegProcess extends EventEmitter<FfmpegEvents> {
  readonly args: string[];
  readonly #child: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly #stderr: string[] = [];
  #partialLine = '';
  #requested = false;
  #exited = false;
  #spawnError: Error | null = null;

  constructor(job: FfmpegJob, binary = 'ffmpeg') {
    super();
    this.args = ffmpegArgs(job);
    this.#child = spawn(binary, this.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.on('error', (error) => { this.#spawnError = error; this.#finish(null, null); });
    this.#child.on('close', (code, signal) => this.#finish(code, signal));
    // A write after ffmpeg died (EPIPE) is reported by the exit, not as an unhandled error.
    this.#child.stdin.on('error', () => {});
    this.#child.stdout.on('error', () => {});
    this.#child.stderr.setEncoding('utf8');
    this.#child.stderr.on('data', (text: string) => this.#onStderr(text));
  }

  get pid(): number | undefined { return this.#child.pid; }
  get stdin(): Writable { return this.#child.stdin; }
  get stdout(): Readable { return this.#child.stdout; }
  get exited(): boolean { return this.#exited; }
  /** The last lines of stderr. */
  get stderrTail(): string { return [...this.#stderr, this.#partialLine].filter(Boolean).join('\n'); }

  /** Writes to its input while it takes input (a write after it exited or was stopped is dropped: the exit says why). */
  write(bytes: Buffer): void {
    if (this.#child.stdin.writable) this.#child.stdin.write(bytes);
  }

  /** Ends its input and terminates it (SIGKILL if it has not exited after a grace period). */
  stop(): void {
    if (this.#exited || this.#requested) return;
    this.#requested = true;
    this.#child.stdin.end();
    this.#child.kill('SIGTERM');
    setTimeout(() => { if (!this.#exited) this.#child.kill('SIGKILL'); }, STOP_GRACE_MS).unref();
  }

  #onStderr(text: string): void {
    const lines = (this.#partialLine + text).split('\n');
    this.#partialLine = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      this.#stderr.push(line);
      if (this.#stderr.length > STDERR_LINES) this.#stderr.shift();
    }
  }

  #finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#exited) return;
    this.#exited = true;
    const reason = this.#spawnError ? `could not start ffmpeg: ${this.#spawnError.message}`
      : this.#requested ? 'stopped'
      : signal ? `killed by ${signal}` : `exited with code ${code}`;
    this.emit('exit', { code, signal, requested: this.#requested, reason, stderr: this.stderrTail });
  }
}

/**
 * Reads a process's stdout as FLV (the transcoders' `-f flv pipe:1`): `onTags` gets the tags each
 * chunk completes, in order; bad FLV calls `onBad` once and nothing more is read.
 */
export function readFlvOutput(ffmpeg: FfmpegProcess, onTags: (tags: FlvTag[]) => void, onBad: (error: Error) => void): void {
  const reader = new FlvReader();
  let failed = false;
  ffmpeg.stdout.on('data', (data: Buffer) => {
    if (failed) return;
    let tags: FlvTag[];
    try {
      tags = reader.push(data);
    } catch (error) {
      failed = true;
      return onBad(error as Error);
    }
    onTags(tags);
  });
}
