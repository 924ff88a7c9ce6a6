/**
 * The live relay of one edge link: "one upstream copy per live stream per edge". When a client
 * of the edge plays a live stream, the stream gets one LinkSubscription on this link (made on the
 * first play, ended after the last) and the client's NetStream is attached to it with PlayAttach;
 * the edge fans the subscription out to its attached clients. Pause and receiveAudio/Video travel
 * as PlayState, the end of a play as PlayDetach; a stream no attached play wants media from
 * carries none (LinkSubscription).
 */
import { LinkFrameKind } from '#protocol/link/link-frame.ts';
import type { Logger } from '#common/logger.ts';
import type { LiveStream } from '#common/media/live-stream.ts';
import type { LiveRelayHandle, LivePlayState } from '#common/session-transport.ts';
import { LinkSubscription, type LinkWriter } from './link-subscription.ts';
import type { SessionRelay } from './link-session.ts';

export class LinkRelay implements SessionRelay {
  readonly #link: LinkWriter;
  readonly #maxBacklogBytes: number;
  readonly #log: Logger;
  readonly #subscriptions = new Map<string, LinkSubscription>();
  #nextId = 1;
  #closed = false;

  constructor(link: LinkWriter, maxBacklogBytes: number, log: Logger) {
    this.#link = link;
    this.#maxBacklogBytes = maxBacklogBytes;
    this.#log = log;
  }

  /** Keys of the streams this link carries. */
  streamKeys(): string[] {
    return [...this.#subscriptions.keys()];
  }

  attach(linkSessionId: number, streamId: number, stream: LiveStream): LiveRelayHandle {
    let subscription = this.#subscriptions.get(stream.key);
    if (!subscription) {
      subscription = new LinkSubscription(this.#nextId++, stream, this.#link, this.#maxBacklogBytes, this.#log);
      this.#subscriptions.set(stream.key, subscription);
      subscription.open();
    }
    const sub = subscription;
    const play = `${linkSessionId}/${streamId}`;
    sub.addPlay(play);
    this.#link.write({ kind: LinkFrameKind.PlayAttach, sessionId: linkSessionId, streamId, subscriptionId: sub.id });
    let attached = true;
    return {
      update: (state: LivePlayState) => {
        if (!attached) return;
        this.#link.write({ kind: LinkFrameKind.PlayState, sessionId: linkSessionId, streamId, ...state });
        sub.updatePlay(play, state);
      },
      detach: () => {
        if (!attached) return;
        attached = false;
        if (this.#closed) return;
        this.#link.write({ kind: LinkFrameKind.PlayDetach, sessionId: linkSessionId, streamId });
        if (sub.removePlay(play)) {
          sub.close(true);
          this.#subscriptions.delete(sub.key);
        }
      },
    };
  }

  /** The link is gone: every subscription lets go of its stream, nothing is written. */
  close(): void {
    this.#closed = true;
    for (const subscription of this.#subscriptions.values()) subscription.close(false);
    this.#subscriptions.clear();
  }
}
