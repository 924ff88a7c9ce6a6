// Runs ws-signalling.netns.ts (WebRTC signalled over the edge's WebSocket channel) inside a loopback-only network namespace.
import { testInLoopbackNamespace } from '../support/netns.ts';

testInLoopbackNamespace(new URL('./ws-signalling.netns.ts', import.meta.url).pathname);
