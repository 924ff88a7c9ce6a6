// Runs whip-classroom.netns.ts (werift publishing with WHIP into a classroom room, with and without a token) inside a loopback-only network namespace.
import { testInLoopbackNamespace } from '../support/netns.ts';

testInLoopbackNamespace(new URL('./whip-classroom.netns.ts', import.meta.url).pathname);
