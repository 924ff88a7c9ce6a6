/**
 * A member's stream played over WS-FLV instead of WebRTC (session/playback-transport.ts decides
 * when): the edge's playback route for the room's stream with the page's token. The view plays the
 * address with mpegts.js into a <video> (view/flv-video.tsx) and attaches that element here, so the
 * page's counters read what it decoded; a player error ends the playback, and the session tries the
 * stream again as it does a failed WebRTC play. No DOM of its own: tested in Node with a fake element.
 */
import type { AudioSample } from './active-speaker.ts';
import type { PlaybackCounters } from './webrtc.ts';

/** What is read of the <video> that plays the stream (an HTMLVideoElement in the page). */
export interface DecodingElement {
  getVideoPlaybackQuality(): { totalVideoFrames: number };
  /** Chromium's count of the audio bytes decoded (absent elsewhere). */
  readonly webkitAudioDecodedByteCount?: number;
}

export class FlvPlayback {
  readonly transport = 'ws-flv';
  readonly stream: string;
  /** ws://EDGE/live/classroom/ROOM/STREAM.flv?token=T */
  readonly url: string;
  readonly ended: Promise<string>;
  #element: DecodingElement | null = null;
  #end!: (reason: string) => void;
  #stopped = false;

  constructor(stream: string, url: string) {
    this.stream = stream;
    this.url = url;
    this.ended = new Promise((resolve) => { this.#end = resolve; });
  }

  /** The <video> mpegts.js plays into (null: the tile is gone). */
  attach(element: DecodingElement | null): void { this.#element = element; }

  /** The player gave up (the socket closed, the edge refused the play, the media could not be decoded). */
  fail(reason: string): void { if (!this.#stopped) this.#end(reason); }

  /** Ends the playback; the view destroys its player when the tile goes. */
  stop(): void {
    this.#stopped = true;
    this.#element = null;
  }

  async counters(): Promise<PlaybackCounters> {
    const framesDecoded = this.#element?.getVideoPlaybackQuality().totalVideoFrames ?? 0;
    return {
      transport: this.transport, framesDecoded, totalAudioEnergy: 0, audioLevel: 0,
      connectionState: this.#stopped ? 'closed' : framesDecoded > 0 ? 'connected' : 'connecting',
      audioBytesDecoded: this.#element?.webkitAudioDecodedByteCount ?? 0,
    };
  }

  /** No getStats over WS-FLV: such a stream takes no part in choosing the active speaker. */
  async audioSample(): Promise<AudioSample | null> { return null; }
}
