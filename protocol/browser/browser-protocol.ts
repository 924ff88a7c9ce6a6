/**
 * The browser protocol v1 (README "Browser protocol"), as types both sides import: the JSON messages a
 * page sends on the edge's `/ws` and those the edge sends back, the error codes, the shapes of the
 * classroom's shared objects as a page receives them, and the limits the edge checks. The edge
 * (gateway/browser/) validates what it receives against these and types what it sends with them; the
 * web client (web-client/src/session/) builds and reads the same types, so page and server cannot
 * drift. Pure definitions: no sockets, no DOM.
 */

/** A value as it travels in JSON (AMF dates and byte arrays become `{ $date }` and `{ $bytes }`). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const BROWSER_PROTOCOL_VERSION = 1;

/** Room and stream names: 1..64 letters, digits, '_', '.' or '-'. */
export const SAFE_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
/** Longest display name, chat text and stroke (in coordinates) the classroom accepts. */
export const MAX_DISPLAY_NAME = 64;
export const MAX_CHAT_TEXT = 2000;
export const MAX_STROKE_POINTS = 10_000;

/** Reasons a message is refused: the `code` of the error reply. */
export type BrowserErrorCode = 'bad_json' | 'too_large' | 'bad_message' | 'rate_limited' | 'not_joined' | 'already_joined'
  | 'too_many_calls' | 'too_many_shared_objects' | 'join_failed' | 'forbidden' | 'call_failed' | 'no_origin'
  | 'bad_sdp' | 'webrtc_refused' | 'webrtc_unavailable' | 'too_many_webrtc_sessions' | 'unknown_session'
  /** A value the origin sent (a shared object's slot, a call's result or arguments) that JSON cannot carry. */
  | 'unrepresentable';

/** A call id chosen by the page: a string of 1..64 characters or a safe integer. */
export type CallId = string | number;

/** Messages a page sends. */
export type ClientMessage =
  | { type: 'ping'; id?: CallId }
  | { type: 'join'; room: string; name: string; role?: string; token?: string }
  | { type: 'call'; id: CallId; method: string; args?: JsonValue[] }
  | { type: 'chat'; id?: CallId; text: string }
  /** The answer to a server's `call` (its numeric id). */
  | { type: 'result'; id: number; value?: JsonValue }
  | { type: 'error'; id: number; message?: string }
  | { type: 'so.use'; name: string; persistent?: boolean }
  | { type: 'so.set'; name: string; key: string; value: JsonValue }
  | { type: 'so.delete'; name: string; key: string }
  | { type: 'so.send'; name: string; handler: string; args?: JsonValue[] }
  | { type: 'so.release'; name: string }
  | { type: 'webrtc.publish' | 'webrtc.play'; id: CallId; stream: string; sdp: string }
  | { type: 'webrtc.stop'; session: number };

/** Messages the edge sends. */
export type ServerMessage =
  | { type: 'hello'; version: number; maxMessageBytes: number; maxSignallingBytes: number; messagesPerSecond: number }
  | { type: 'pong'; id?: CallId }
  | { type: 'joined'; info: JsonValue }
  /** The session is ending (then the socket closes). */
  | { type: 'closed'; reason: string }
  | { type: 'result'; id: CallId; value: JsonValue }
  | { type: 'error'; code: BrowserErrorCode; message: string; id?: CallId; status?: number; info?: JsonValue }
  /** A call of the server on the page; `id` null: no answer wanted. */
  | { type: 'call'; id: number | null; method: string; args: JsonValue[] }
  | { type: 'status'; streamId: number; info: JsonValue }
  | { type: 'so.sync'; name: string; version: number; data: JsonValue }
  | { type: 'so.change'; name: string; version: number; changed: Record<string, JsonValue>; deleted: string[]; cleared: boolean }
  | { type: 'so.message'; name: string; handler: string; args: JsonValue[] }
  | { type: 'so.status'; name: string; code: string; level: string }
  | { type: 'webrtc.answer'; id: CallId; session: number; sdp: string }
  | { type: 'webrtc.closed'; id: CallId; session: number; reason: string };

export type ServerMessageType = ServerMessage['type'];
/** The server message of one type. */
export type ServerMessageOf<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>;

/** The classroom's shared objects (origin/app/classroom), as a page receives their slots. */
export const CLASSROOM_OBJECTS = { roster: 'roster', chat: 'chat', whiteboard: 'whiteboard', room: 'room' } as const;

export type ClassroomRole = 'teacher' | 'student' | 'viewer';

/** A roster slot (keyed by the member's id). */
export interface RosterMember {
  id: string;
  name: string;
  role: ClassroomRole;
  hand: boolean;
  /** Streams the member publishes (from any connection of theirs: RTMP, WebRTC). */
  streams: string[];
  /** ms since the epoch */
  joinedAt: number;
  /** Whether the member's microphone / camera is muted (the classroom's setMediaState); null: not said (a Flash client that never calls it). */
  audioMuted: boolean | null;
  videoMuted: boolean | null;
}

/** A chat slot (`m00000001`, in order). */
export interface ChatMessage {
  id: number;
  from: string;
  name: string;
  role: ClassroomRole;
  text: string;
  /** ms since the epoch */
  at: number;
}

/** A whiteboard slot (`s00000001`, in order). */
export interface Stroke {
  id: number;
  /** The author's client id and name (undoStroke removes only the caller's own). */
  by: string;
  byName: string;
  /** `pen` or `eraser` (drawn in the board's background colour, so Flash clients that know no tools draw it right too). */
  tool: string;
  color: number;
  width: number;
  points: number[];
}

/** The `recording` slot of the room object. */
export interface RecordingState {
  active: boolean;
  startedAt?: string | null;
  by?: string | null;
}
