// Runs werift-whip.netns.ts (a werift WHIP publisher, Chromium WHEP viewer) inside a loopback-only network namespace.
import { testInLoopbackNamespace } from '../support/netns.ts';

testInLoopbackNamespace(new URL('./werift-whip.netns.ts', import.meta.url).pathname);
