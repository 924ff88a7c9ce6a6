// Runs whip-av-sync.netns.ts (lip sync of a browser's WHIP publish, measured) inside a loopback-only network namespace.
import { testInLoopbackNamespace } from '../support/netns.ts';

testInLoopbackNamespace(new URL('./whip-av-sync.netns.ts', import.meta.url).pathname);
