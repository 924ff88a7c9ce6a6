// Runs whep-transcode.netns.ts (WebRTC playback of streams that need transcoding, in Chromium) inside a loopback-only network namespace.
import { testInLoopbackNamespace } from '../support/netns.ts';

testInLoopbackNamespace(new URL('./whep-transcode.netns.ts', import.meta.url).pathname);
