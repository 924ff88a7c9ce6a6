// Runs whip-hostile.netns.ts (hostile WHIP offers while publishes run) inside a loopback-only network namespace.
import { testInLoopbackNamespace } from '../support/netns.ts';

testInLoopbackNamespace(new URL('./whip-hostile.netns.ts', import.meta.url).pathname);
