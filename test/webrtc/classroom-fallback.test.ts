// Runs classroom-fallback.netns.ts (the browser classroom on a page without WebRTC: WS-FLV playback through mpegts.js) inside a loopback-only network namespace.
import { testInLoopbackNamespace } from '../support/netns.ts';

testInLoopbackNamespace(new URL('./classroom-fallback.netns.ts', import.meta.url).pathname);
