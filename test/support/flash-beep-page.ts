/**
 * A WHIP publisher page that makes the flash/beep source of av-sync.ts itself, for lip-sync tests
 * that must hold on a loaded machine: beeps from WebAudio, scheduled sample-exactly on the
 * AudioContext's clock, and flashes drawn on a canvas from that same clock at the moment each frame
 * is taken (canvas capture, a frame requested after every draw). Chromium's fake camera playing a
 * file does not: when its capture thread is starved it goes on from the frame where it stopped, so
 * its pictures fall behind its capture times (and the microphone) for good, 100-200 ms after a few
 * stalls; here a stall can only delay the one flash drawn in it.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { BEEP_HZ, SYNC_EVENT_S, SYNC_PERIOD_S } from './av-sync.ts';
import { SIGNAL_SCRIPT } from './webrtc-page.ts';

/** How many seconds of beeps the page schedules (a test records well under this). */
const SCHEDULED_SECONDS = 120;
const WIDTH = 640;
const HEIGHT = 360;

const FLASH_BEEP_PAGE = `<!doctype html><title>flash-beep</title><script>${SIGNAL_SCRIPT}
  window.publishFlashBeep = async (url, { seconds, periodS, eventS, beepHz, width, height }) => {
    const audio = new AudioContext({ sampleRate: 48000 });
    await audio.resume();
    const beep = new GainNode(audio, { gain: 0 });
    const destination = new MediaStreamAudioDestinationNode(audio, { channelCount: 1 });
    const tone = new OscillatorNode(audio, { frequency: beepHz });
    tone.connect(beep).connect(destination);
    tone.start();
    const first = Math.ceil(audio.currentTime) + 1;
    for (let at = first; at < first + seconds; at += periodS) {
      beep.gain.setValueAtTime(0.5, at);
      beep.gain.setValueAtTime(0, at + eventS);
    }
    // The audio being rendered now (and handed to the track): what plays out now, plus the output
    // latency the renderer runs ahead by. currentTime moves in whole render buffers.
    const renderedNow = () => {
      const { contextTime, performanceTime } = audio.getOutputTimestamp();
      if (!performanceTime) return audio.currentTime;
      return contextTime + (performance.now() - performanceTime) / 1000 + audio.outputLatency;
    };
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const picture = canvas.getContext('2d');
    const video = canvas.captureStream(0).getVideoTracks()[0];
    const draw = () => {
      const phase = renderedNow() - first;
      const inPeriod = ((phase % periodS) + periodS) % periodS;
      picture.fillStyle = phase >= 0 && inPeriod < eventS ? '#fff' : '#000';
      picture.fillRect(0, 0, width, height);
      video.requestFrame();
      // Drawn again just after the next flash edge, or a frame later (30 fps), whichever is first.
      const toEdgeMs = ((inPeriod < eventS ? eventS : periodS) - inPeriod) * 1000;
      setTimeout(draw, Math.max(1, Math.min(1000 / 30, toEdgeMs + 0.5)));
    };
    draw();
    const pc = new RTCPeerConnection();
    window.pc = pc;
    const camera = pc.addTransceiver(video, { direction: 'sendonly' });
    camera.setCodecPreferences(RTCRtpSender.getCapabilities('video').codecs.filter((c) => /h264|rtx/i.test(c.mimeType)));
    pc.addTransceiver(destination.stream.getAudioTracks()[0], { direction: 'sendonly' });
    return window.signal(pc, url);
  };
</script>`;

/**
 * Opens the page on `base` (an edge's HTTP origin) and publishes flashes and beeps (H.264 and Opus)
 * to `whipUrl`: the first beep and flash come a second or two after the publish, then one of each
 * every SYNC_PERIOD_S. Resolves with the page and the Location.
 */
export async function openFlashBeepPublisher(browser: BrowserContext, base: string, whipUrl: string): Promise<{ page: Page; location: string }> {
  const page = await browser.newPage();
  await page.route(`${base}/flash-beep.html`, (route) => route.fulfill({ contentType: 'text/html', body: FLASH_BEEP_PAGE }));
  await page.goto(`${base}/flash-beep.html`);
  const source = { seconds: SCHEDULED_SECONDS, periodS: SYNC_PERIOD_S, eventS: SYNC_EVENT_S, beepHz: BEEP_HZ, width: WIDTH, height: HEIGHT };
  const location = await page.evaluate(([url, options]) => (globalThis as unknown as { publishFlashBeep(u: string, o: typeof options): Promise<string> }).publishFlashBeep(url, options), [whipUrl, source] as const);
  return { page, location };
}
