// Runs whip-publish.netns.ts (WHIP publishing from Chromium) inside a loopback-only network namespace.
import { testInLoopbackNamespace } from '../support/netns.ts';

testInLoopbackNamespace(new URL('./whip-publish.netns.ts', import.meta.url).pathname);
