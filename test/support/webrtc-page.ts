/**
 * Browser-side WHIP/WHEP signalling for test pages: `signal(pc, url)` (a script for the page) makes
 * the offer, waits for ICE gathering (the edge does no trickle), POSTs it, applies the answer and
 * resolves with the Location; a refusal throws with the status and the edge's reason.
 */
export const SIGNAL_SCRIPT = `
  window.signal = async (pc, url) => {
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    });
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
    if (response.status !== 201) throw new Error(url + ': ' + response.status + ': ' + await response.text());
    await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
    return response.headers.get('location');
  };`;
