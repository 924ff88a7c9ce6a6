/**
 * A test's or benchmark's hold on a Node server it started with `--inspect=127.0.0.1:PORT` (one of
 * its node flags: startServer's nodeFlags): a full garbage collection before a memory sample, so heap
 * figures count what is live rather than when V8 last collected (bench:soak, bench:memory), heap
 * snapshots to compare (Chrome DevTools format), and the modules it has loaded
 * (test/common/start-cost.test.ts: what an idle edge leaves unloaded). Loopback only, and only for
 * processes the caller started itself.
 */
import { createWriteStream } from 'node:fs';
import WebSocket from 'ws';
import { CodedError } from '#protocol/errors.ts';

interface InspectorReply { id?: number; method?: string; params?: { chunk?: string; url?: string }; error?: { message: string } }

export class InspectorSession {
  readonly #socket: WebSocket;
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  #onChunk: ((chunk: string) => void) | null = null;
  #onScript: ((url: string) => void) | null = null;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data: Buffer) => this.#onMessage(JSON.parse(data.toString('utf8')) as InspectorReply));
    socket.on('close', () => {
      for (const { reject } of this.#waiting.values()) reject(new CodedError('inspector.closed', 'the inspector connection closed'));
      this.#waiting.clear();
    });
  }

  /** The node flag for a server that will listen for a session on 127.0.0.1:`port`. */
  static nodeOption(port: number): string {
    return `--inspect=127.0.0.1:${port}`;
  }

  /** Attaches to the inspector of the process listening on 127.0.0.1:`port`. */
  static async attach(port: number): Promise<InspectorSession> {
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as Array<{ webSocketDebuggerUrl: string }>;
    const url = targets[0]?.webSocketDebuggerUrl;
    if (!url) throw new CodedError('inspector.no_target', `no inspector target on 127.0.0.1:${port}`);
    const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new InspectorSession(socket);
  }

  /** A full, compacting collection in the server (V8 collects twice for weak references to go). */
  async collectGarbage(): Promise<void> {
    await this.#call('HeapProfiler.collectGarbage');
    await this.#call('HeapProfiler.collectGarbage');
  }

  /** Writes a heap snapshot of the server to `file` (it collects garbage first). */
  async heapSnapshot(file: string): Promise<void> {
    const out = createWriteStream(file);
    this.#onChunk = (chunk) => out.write(chunk);
    try {
      await this.#call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    } finally {
      this.#onChunk = null;
      await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    }
  }

  /**
   * The URLs of the scripts the server has compiled and still holds (its modules: `file:///...ts`,
   * `node:...`): what it has loaded. Enabling the debugger reports each one before it answers.
   */
  async loadedScripts(): Promise<string[]> {
    const urls: string[] = [];
    this.#onScript = (url) => urls.push(url);
    try {
      await this.#call('Debugger.enable');
    } finally {
      this.#onScript = null;
    }
    await this.#call('Debugger.disable');
    return urls;
  }

  close(): void {
    this.#socket.close();
  }

  #call(method: string, params: Record<string, unknown> = {}): Promise<void> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }

  #onMessage(reply: InspectorReply): void {
    if (reply.method === 'Debugger.scriptParsed') {
      this.#onScript?.(reply.params?.url ?? '');
      return;
    }
    if (reply.method === 'HeapProfiler.addHeapSnapshotChunk') {
      this.#onChunk?.(reply.params?.chunk ?? '');
      return;
    }
    if (reply.id === undefined) return;
    const waiting = this.#waiting.get(reply.id);
    this.#waiting.delete(reply.id);
    if (!waiting) return;
    if (reply.error) waiting.reject(new CodedError('inspector.failed', reply.error.message));
    else waiting.resolve();
  }
}
