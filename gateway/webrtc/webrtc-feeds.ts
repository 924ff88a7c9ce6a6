/**
 * The edge's WebRTC feeds, one per stream that WebRTC viewers watch (WebRtcFeed): a viewer joins
 * the stream's feed with its tap (made on first use) and leaves it; the feed stops with its last
 * viewer. Counts what runs and what was started, for `GET /webrtc/stats`.
 */
import type { Logger } from '#common/logger.ts';
import { Transcoder, WEBRTC_VIDEO_JOB } from '../playback/transcoder.ts';
import { AacToOpus } from './aac-to-opus.ts';
import { WebRtcFeed, type FeedViewer } from './webrtc-feed.ts';
import { WebRtcFeedSource } from './webrtc-feed-source.ts';

export interface WebRtcFeedsOptions {
  /** The most of a GOP a feed (and a viewer's tap, and a transcoder) keeps. */
  maxGopBytes: number;
}

export interface WebRtcFeedStats {
  /** WebRTC viewers playing through a feed. */
  feedViewers: number;
  /** Feeds running now, and started so far. */
  feeds: number;
  feedsStarted: number;
  /** Shared video transcoders (to H.264 baseline) and audio transcoders (to Opus) running now, and started so far. */
  videoTranscoders: number;
  videoTranscodersStarted: number;
  audioTranscoders: number;
  audioTranscodersStarted: number;
  /** Feeds whose viewers get the publisher's own Opus track (a browser published it) with no audio transcoder. */
  opusPassthroughFeeds: number;
}

export class WebRtcFeeds {
  readonly #options: WebRtcFeedsOptions;
  readonly #log: Logger;
  readonly #feeds = new Map<string, WebRtcFeed>();
  #feedsStarted = 0;
  #videoTranscodersStarted = 0;
  #audioTranscodersStarted = 0;

  constructor(options: WebRtcFeedsOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
  }

  get stats(): WebRtcFeedStats {
    const running = [...this.#feeds.values()].map((feed) => feed.transcoding);
    return {
      feedViewers: [...this.#feeds.values()].reduce((sum, feed) => sum + feed.viewers, 0), feeds: this.#feeds.size, feedsStarted: this.#feedsStarted,
      videoTranscoders: running.filter((t) => t.video).length, videoTranscodersStarted: this.#videoTranscodersStarted,
      audioTranscoders: running.filter((t) => t.audio).length, audioTranscodersStarted: this.#audioTranscodersStarted,
      opusPassthroughFeeds: [...this.#feeds.values()].filter((feed) => feed.opusPassthrough).length,
    };
  }

  /** A tap for a viewer's relay delivery, holding the startup until the viewer joins. */
  newSource(): WebRtcFeedSource {
    return new WebRtcFeedSource(this.#options.maxGopBytes);
  }

  /** Adds `viewer` (and its tap) to the feed of APP/STREAM, started if none runs, and returns the feed. */
  join(target: { app: string; stream: string }, viewer: FeedViewer, source: WebRtcFeedSource): WebRtcFeed {
    const key = `${target.app}/${target.stream}`;
    let feed = this.#feeds.get(key);
    if (!feed || feed.closed) feed = this.#start(key);
    feed.addViewer(viewer, source);
    return feed;
  }

  close(reason: string): void {
    for (const feed of [...this.#feeds.values()]) feed.close(reason);
  }

  #start(key: string): WebRtcFeed {
    const log = this.#log.child('feed');
    const feed = new WebRtcFeed(key, {
      maxGopBytes: this.#options.maxGopBytes,
      createVideoTranscoder: () => new Transcoder(key, { job: WEBRTC_VIDEO_JOB, maxGopBytes: this.#options.maxGopBytes }, log.child('transcoder')),
      createAudioTranscoder: () => new AacToOpus(),
    }, log);
    this.#feeds.set(key, feed);
    this.#feedsStarted++;
    feed.on('transcoderStarted', (kind) => {
      if (kind === 'video') this.#videoTranscodersStarted++;
      else this.#audioTranscodersStarted++;
    });
    feed.once('close', () => { if (this.#feeds.get(key) === feed) this.#feeds.delete(key); });
    return feed;
  }
}
