/**
 * Every client session of the origin, direct or through an edge, by its id (the client id
 * application code sees), with the protocol it came in by: what the admin API lists and acts on
 * (origin/http/admin-api.ts). Origin.createSession adds each session; it leaves when it closes.
 */
import type { RtmpSession } from './rtmp-session.ts';

export interface RegisteredSession {
  readonly session: RtmpSession;
  /** `rtmp` or `rtmps` for the origin's own ports; for an edge's client, what it speaks at the edge (`rtmp`, `ws`, `http-flv`, `whip`, ...). */
  readonly protocol: string;
}

export class SessionRegistry {
  readonly #sessions = new Map<number, RegisteredSession>();

  get size(): number { return this.#sessions.size; }

  add(session: RtmpSession, protocol: string): void {
    const id = session.id;
    this.#sessions.set(id, { session, protocol });
    session.once('close', () => this.#sessions.delete(id));
  }

  get(id: number): RegisteredSession | undefined {
    return this.#sessions.get(id);
  }

  values(): IterableIterator<RegisteredSession> {
    return this.#sessions.values();
  }
}
