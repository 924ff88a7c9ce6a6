/**
 * Browser-side WHIP/WHEP signalling for test pages: `signal(pc, url)` (a script for the page) makes
 * the offer, waits for ICE gathering (the edge does no trickle), POSTs it, applies the answer and
 * resolves with the Location; a refusal throws with the status and the edge's reason. And a WHEP
 * player page for tests that watch a stream in Chromium, and a WHIP publisher page (fake camera and
 * microphone).
 */
import type { BrowserContext, Page } from 'playwright-core';

export const SIGNAL_SCRIPT = `
  window.signal = async (pc, url) => {
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    });
    const offer = window.rewriteOffer ? window.rewriteOffer(pc.localDescription.sdp) : pc.localDescription.sdp;
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: offer });
    if (response.status !== 201) throw new Error(url + ': ' + response.status + ': ' + await response.text());
    const answer = await response.text();
    // A test may route the media through something of its own (window.rewriteOffer, and window.rewriteAnswer, async).
    await pc.setRemoteDescription({ type: 'answer', sdp: window.rewriteAnswer ? await window.rewriteAnswer(answer) : answer });
    return response.headers.get('location');
  };`;

/**
 * A page that plays with WHEP: `play(url)` receives video and audio into a muted autoplay <video>
 * (and an <audio>, as Chromium measures audio energy on playout) and resolves with the Location;
 * `counters()` reads getStats (WhepCounters).
 */
export const WHEP_PLAYER_PAGE = `<!doctype html><title>whep</title><video id="v" muted autoplay playsinline></video><audio id="a" autoplay></audio><script>${SIGNAL_SCRIPT}
  window.play = async (url) => {
    const pc = new RTCPeerConnection();
    window.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const location = await window.signal(pc, url);
    document.getElementById('v').srcObject = new MediaStream(pc.getReceivers().map((r) => r.track));
    document.getElementById('a').srcObject = new MediaStream(pc.getReceivers().filter((r) => r.track.kind === 'audio').map((r) => r.track));
    return location;
  };
  window.counters = async () => {
    const counters = { framesDecoded: 0, totalAudioEnergy: 0, totalSamplesReceived: 0, concealedSamples: 0, state: window.pc.connectionState };
    for (const report of (await window.pc.getStats()).values()) {
      if (report.type !== 'inbound-rtp') continue;
      if (report.kind === 'video') counters.framesDecoded = report.framesDecoded ?? 0;
      if (report.kind === 'audio') { counters.totalAudioEnergy = report.totalAudioEnergy ?? 0; counters.totalSamplesReceived = report.totalSamplesReceived ?? 0; counters.concealedSamples = report.concealedSamples ?? 0; }
    }
    return counters;
  };
</script>`;

/** What WHEP_PLAYER_PAGE's `counters()` reads from getStats. */
export interface WhepCounters { framesDecoded: number; totalAudioEnergy: number; totalSamplesReceived: number; concealedSamples: number; state: string }

/**
 * Opens WHEP_PLAYER_PAGE on `base` (an edge's HTTP origin) and plays `whepUrl`: the page and the
 * Location, or the refusal's message. `beforeSignal` may set up the page first (window.rewriteAnswer).
 */
export async function openWhepPlayer(browser: BrowserContext, base: string, whepUrl: string, beforeSignal?: (page: Page) => Promise<unknown>): Promise<{ page: Page; location: string; error: string }> {
  const page = await browser.newPage();
  await page.route(`${base}/whep-test.html`, (route) => route.fulfill({ contentType: 'text/html', body: WHEP_PLAYER_PAGE }));
  await page.goto(`${base}/whep-test.html`);
  await beforeSignal?.(page);
  const outcome = await page.evaluate((url) => (globalThis as unknown as { play(u: string): Promise<string> }).play(url), whepUrl)
    .then((location) => ({ location, error: '' }), (error: Error) => ({ location: '', error: error.message }));
  return { page, ...outcome };
}

/**
 * A page that publishes with WHIP: `publish(url)` sends the fake camera (H.264 preferred, or the
 * video codecs whose mimeType matches `window.videoCodecPreference`, a RegExp set before) and
 * microphone and resolves with the Location.
 */
export const WHIP_PUBLISHER_PAGE = `<!doctype html><title>whip</title><script>${SIGNAL_SCRIPT}
  window.publish = async (url) => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
    const pc = new RTCPeerConnection();
    window.pc = pc;
    for (const track of stream.getTracks()) {
      const transceiver = pc.addTransceiver(track, { direction: 'sendonly' });
      const preferred = window.videoCodecPreference ?? /h264|rtx/i;
      if (track.kind === 'video') transceiver.setCodecPreferences(RTCRtpSender.getCapabilities('video').codecs.filter((c) => preferred.test(c.mimeType)));
    }
    return window.signal(pc, url);
  };
</script>`;

/** Opens WHIP_PUBLISHER_PAGE on `base` (an edge's HTTP origin) and publishes to `whipUrl`: the page and the Location. `beforeSignal` as for openWhepPlayer. */
export async function openWhipPublisher(browser: BrowserContext, base: string, whipUrl: string, beforeSignal?: (page: Page) => Promise<unknown>): Promise<{ page: Page; location: string }> {
  const page = await browser.newPage();
  await page.route(`${base}/whip-test.html`, (route) => route.fulfill({ contentType: 'text/html', body: WHIP_PUBLISHER_PAGE }));
  await page.goto(`${base}/whip-test.html`);
  await beforeSignal?.(page);
  const location = await page.evaluate((url) => (globalThis as unknown as { publish(u: string): Promise<string> }).publish(url), whipUrl);
  return { page, location };
}

/** The counters of a page opened by openWhepPlayer. */
export function whepCounters(page: Page): Promise<WhepCounters> {
  return page.evaluate(() => (globalThis as unknown as { counters(): Promise<WhepCounters> }).counters());
}
