// Runs whip-vp8.netns.ts (WHIP publishing of VP8 from Chromium, transcoded to H.264) inside a loopback-only network namespace.
import { testInLoopbackNamespace } from '../support/netns.ts';

testInLoopbackNamespace(new URL('./whip-vp8.netns.ts', import.meta.url).pathname);
