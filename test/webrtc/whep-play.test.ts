// Runs whep-play.netns.ts (WHEP playback in Chromium) inside a loopback-only network namespace.
import { testInLoopbackNamespace } from '../support/netns.ts';

testInLoopbackNamespace(new URL('./whep-play.netns.ts', import.meta.url).pathname);
