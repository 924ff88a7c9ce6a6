/**
 * mpegts.js for the page, in one place: the recordings' playback (FLV over HTTP) and the tiles that
 * play a stream over WS-FLV (where WebRTC cannot be had) both start their players here. The script
 * (/vendor/mpegts.js, served by the edge) is loaded the first time something is played, so a page
 * that never plays FLV never loads it.
 */
import type Mpegts from 'mpegts.js';

declare global {
  interface Window { mpegts?: typeof Mpegts }
}

/** Where the edge serves mpegts.js (gateway/http/edge-http-server.ts). */
const MPEGTS_URL = '/vendor/mpegts.js';
let mpegtsLoading: Promise<typeof Mpegts> | null = null;

/** mpegts.js, loaded once with a <script> (it is a UMD bundle that sets window.mpegts). */
function loadMpegts(): Promise<typeof Mpegts> {
  mpegtsLoading ??= new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = MPEGTS_URL;
    script.onload = () => (window.mpegts ? resolve(window.mpegts) : reject(new Error('mpegts.js did not load')));
    script.onerror = () => { mpegtsLoading = null; reject(new Error(`${MPEGTS_URL} could not be loaded`)); };
    document.head.append(script);
  });
  return mpegtsLoading;
}

/**
 * Plays `source` into `video` with mpegts.js (loading it first); `onError` hears the player's errors
 * and a failed load. Returns what stops it: the player is destroyed, or never made if not made yet.
 */
export function playFlv(video: HTMLVideoElement, source: Mpegts.MediaDataSource, config: Mpegts.Config, onError: (reason: string) => void): () => void {
  let player: Mpegts.Player | null = null;
  let stopped = false;
  loadMpegts().then((mpegts) => {
    if (stopped) return;
    player = mpegts.createPlayer(source, config);
    player.on(mpegts.Events.ERROR, (type: string, detail: string) => onError(`${type}: ${detail}`));
    player.attachMediaElement(video);
    player.load();
    void Promise.resolve(player.play()).catch(() => {}); // autoplay may wait for a gesture: the controls are there
  }, (error: Error) => { if (!stopped) onError(error.message); });
  return () => { stopped = true; player?.destroy(); };
}
