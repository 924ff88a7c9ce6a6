// Runs sfu-forward.netns.ts (a browser's WHIP stream forwarded to WHEP viewers on the same edge) inside a loopback-only network namespace.
import { testInLoopbackNamespace } from '../support/netns.ts';

testInLoopbackNamespace(new URL('./sfu-forward.netns.ts', import.meta.url).pathname);
