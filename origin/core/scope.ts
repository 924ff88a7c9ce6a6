/**
 * Scopes and names: `rtmp://host/APP/ROOM/...` becomes an application and a room path, and a
 * stream name becomes a hub key. Names are checked here once so no later layer (recording
 * files, logs, the edge link) ever sees `..`, control characters or absurd lengths.
 */
import { BadNameError } from './errors.ts';

export interface Scope {
  /** First path element of `app`, e.g. `classroom`. */
  application: string;
  /** The rest, e.g. `room42`, or '' for the application scope itself. */
  room: string;
  /** `application/room` (or just `application`). */
  path: string;
}

const MAX_NAME_LENGTH = 256;
const SEGMENT = /^[^\u0000-\u001f\u007f/\\]+$/;

function checkSegments(kind: string, value: string): string[] {
  if (value.length === 0 || value.length > MAX_NAME_LENGTH) {
    throw new BadNameError('name.length', `${kind} name must be 1..${MAX_NAME_LENGTH} characters`);
  }
  const segments = value.split('/');
  for (const segment of segments) {
    if (!SEGMENT.test(segment) || segment === '.' || segment === '..') {
      throw new BadNameError('name.invalid', `${kind} name ${JSON.stringify(value)} has an empty, '.' or '..' segment, a backslash or a control character`);
    }
  }
  return segments;
}

/** Parses connect's `app` (query string dropped, surrounding slashes trimmed). */
export function parseScope(app: string): Scope {
  const path = app.split('?')[0]!.replace(/^\/+|\/+$/g, '');
  const [application, ...room] = checkSegments('application', path);
  return { application: application!, room: room.join('/'), path };
}

/** Validates a stream name from publish/play (query string dropped) and returns it. */
export function parseStreamName(name: string): string {
  const bare = name.split('?')[0]!;
  checkSegments('stream', bare);
  return bare;
}

export function streamKey(scope: Scope, name: string): string {
  return `${scope.path}/${name}`;
}
