/**
 * Stream URLs on the edge's HTTP port (`/live/APP/ROOM/STREAM.flv`, `/whip/APP/ROOM/STREAM`, ...):
 * the part after the route's prefix read as connect's app (application and room, checked as the
 * origin checks scopes) and the stream name (checked as the origin checks stream names), so a
 * hostile path (`..`, NUL, bad encoding) is refused at the edge with a message for a 400.
 */
import { parseScope, parseStreamName } from '../../origin/core/scope.ts';

export function parseAppStreamPath(relative: string, usage: string): { app: string; stream: string } {
  let path: string;
  try {
    path = decodeURIComponent(relative);
  } catch {
    throw new Error('bad URL encoding');
  }
  const segments = path.split('/');
  if (segments.length < 2) throw new Error(usage);
  const stream = segments.pop()!;
  const app = parseScope(segments.join('/')).path;
  return { app, stream: parseStreamName(stream) };
}
