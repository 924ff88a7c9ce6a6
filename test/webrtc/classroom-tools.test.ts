// Runs classroom-tools.netns.ts (the browser classroom's whiteboard tools, mute state, active speaker and pinned tile) inside a loopback-only network namespace.
import { testInLoopbackNamespace } from '../support/netns.ts';

testInLoopbackNamespace(new URL('./classroom-tools.netns.ts', import.meta.url).pathname);
