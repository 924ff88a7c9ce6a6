/**
 * The room's recordings as the page shows them: the origin's listing, which the edge forwards
 * (`GET /api/recordings?room=classroom/ROOM` with the member's token; the origin decides who may see
 * it: a room's teacher), page after page as its `next` says, read into entries (the stream, when the recording started, its length and
 * size, whether it is still being written), newest first; and where one is read for playback
 * (`/recordings/PATH`, FLV over HTTP, ranges for seeking). A refusal or an unreachable origin is a
 * typed error the view says in its language. No DOM: tested in Node (test/web-client/recordings.test.ts).
 */
import { CodedError } from '../../../protocol/errors.ts';

/** The classroom application: a room R of the page is the scope `classroom/R` on the origin. */
export const CLASSROOM_APP = 'classroom';

/** One FLV file of the room's recordings (a stream of one recording session). */
export interface RecordingEntry {
  /** Below the origin's recordings folder: `classroom/ROOM/rec-20261202T230102Z/Ms-Li-cam.flv`. */
  path: string;
  /** The stream recorded (the file's name without `.flv`). */
  stream: string;
  /** When the room's recording started (its folder's stamp), else the file's last change. */
  startedAt: Date;
  /** Seconds, from the file's metadata; null while unknown. */
  duration: number | null;
  size: number;
  /** Still being written (the recording goes on, or has not been finished yet). */
  unfinished: boolean;
}

/**
 * Why the recordings cannot be shown: `recordings.refused` (the origin's 401 or 403: this member may
 * not see them), `recordings.unavailable` (the origin cannot be reached, or answered something else).
 */
export class RecordingsError extends CodedError {
  readonly status: number;
  constructor(code: 'recordings.refused' | 'recordings.unavailable', message: string, status: number) {
    super(code, message);
    this.status = status;
  }
}

/** The origin's listing entry, as far as the page reads it (origin/recording/recording-index.ts). */
interface ListedFile { path: string; kind: string; size: number; modified: string; recording: boolean; duration?: number }

/** `rec-20261202T230102Z` (room-recorder.ts's folder stamp) as a date; null for anything else. */
function stampDate(folder: string): Date | null {
  const m = /^rec-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(?:-\d+)?$/.exec(folder);
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : null;
}

/** The room's FLV files of `listing` (the origin's `files`), newest first, then by stream. */
export function recordingEntries(files: readonly ListedFile[], room: string): RecordingEntry[] {
  const prefix = `${CLASSROOM_APP}/${room}/`;
  return files.filter((file) => file.kind === 'flv' && file.path.startsWith(prefix)).map((file) => {
    const segments = file.path.split('/');
    const name = segments.at(-1)!;
    return {
      path: file.path, stream: name.slice(0, -'.flv'.length), size: file.size, unfinished: file.recording,
      startedAt: stampDate(segments.at(-2) ?? '') ?? new Date(file.modified), duration: typeof file.duration === 'number' ? file.duration : null,
    };
  }).sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || a.stream.localeCompare(b.stream));
}

/** `Authorization` for the member's token; none without one (the origin then says 401). */
export function authorization(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Where the edge serves a recording's file (its path's segments encoded). */
export function recordingUrl(path: string): string {
  return `/recordings/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** The listing's pages are asked for here, and only here: a `next` elsewhere is not followed. */
const LISTING_PATH = '/api/recordings?';

/**
 * The room's recordings through the edge at `base` (the page's own origin: ''), or a RecordingsError.
 * The origin answers a page at a time (origin/http/http-api.ts): each page's `next` is asked for
 * until there is none.
 */
export async function fetchRecordings(room: string, token: string | undefined, base = '', fetchImpl: typeof fetch = fetch): Promise<RecordingEntry[]> {
  const files: ListedFile[] = [];
  let next: string | null = `${LISTING_PATH}room=${encodeURIComponent(`${CLASSROOM_APP}/${room}`)}`;
  const asked = new Set<string>();
  while (next !== null) {
    if (!next.startsWith(LISTING_PATH) || asked.has(next)) throw new RecordingsError('recordings.unavailable', `the listing's next page ${JSON.stringify(next)} is not a new page of ${LISTING_PATH}`, 200);
    asked.add(next);
    const page = await fetchPage(`${base}${next}`, token, fetchImpl);
    files.push(...(page.files ?? []));
    next = typeof page.next === 'string' ? page.next : null;
  }
  return recordingEntries(files, room);
}

async function fetchPage(url: string, token: string | undefined, fetchImpl: typeof fetch): Promise<{ files?: ListedFile[]; next?: unknown }> {
  let res: Response;
  try {
    res = await fetchImpl(url, { headers: authorization(token), cache: 'no-store' });
  } catch (error) {
    throw new RecordingsError('recordings.unavailable', (error as Error).message, 0);
  }
  const text = await res.text();
  if (res.status === 401 || res.status === 403) throw new RecordingsError('recordings.refused', reasonOf(text), res.status);
  if (res.status !== 200) throw new RecordingsError('recordings.unavailable', reasonOf(text) || `HTTP ${res.status}`, res.status);
  return JSON.parse(text) as { files?: ListedFile[]; next?: unknown };
}

/** The origin's `{ error }`, or the edge's plain text. */
function reasonOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: the edge's own words
  }
  return body.trim();
}
