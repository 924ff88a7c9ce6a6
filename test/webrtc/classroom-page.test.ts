// Runs classroom-page.netns.ts (the built browser classroom: two pages and an RTMP publisher in one room) inside a loopback-only network namespace.
import { testInLoopbackNamespace } from '../support/netns.ts';

testInLoopbackNamespace(new URL('./classroom-page.netns.ts', import.meta.url).pathname);
