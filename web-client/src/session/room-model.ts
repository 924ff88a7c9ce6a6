/**
 * The room as the page shows it, computed from the classroom's shared objects (roster, chat, room):
 * participants in a stable order (teachers first, then by arrival) with their roles, raised hands and
 * streams; the video tiles (one per published stream, or one placeholder for a member who publishes
 * nothing), RTMP and Flash publishers included as they are members too; the chat in order; the
 * recording state; the whiteboard's strokes in drawing order. Pure functions of the data, no DOM, so they are tested in Node.
 */
import type {
  ChatMessage, ClassroomRole, JsonValue, RecordingState, RosterMember, Stroke,
} from '../../../protocol/browser/browser-protocol.ts';

export interface Participant extends RosterMember {
  /** This page's own member. */
  self: boolean;
}

export interface Tile {
  /** Stable key for the view: the stream, or `member:ID` for a placeholder. */
  key: string;
  memberId: string;
  name: string;
  role: ClassroomRole;
  /** The member's microphone / camera muted, as they said (null: unknown, a Flash client's say). */
  audioMuted: boolean | null;
  videoMuted: boolean | null;
  /** The stream shown, or null when the member publishes nothing. */
  stream: string | null;
  self: boolean;
}

export interface RoomSnapshot {
  participants: Participant[];
  tiles: Tile[];
  raisedHands: Participant[];
  chat: ChatMessage[];
  recording: RecordingState;
  strokes: Stroke[];
}

export const EMPTY_ROOM: RoomSnapshot = { participants: [], tiles: [], raisedHands: [], chat: [], recording: { active: false }, strokes: [] };

const ROLE_ORDER: Record<ClassroomRole, number> = { teacher: 0, student: 1, viewer: 2 };

function isRecord(value: JsonValue | undefined): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A roster slot as a RosterMember, or null when it is not one (slots are the server's, but the page does not trust shapes). */
export function toMember(value: JsonValue | undefined): RosterMember | null {
  if (!isRecord(value) || typeof value.id !== 'string' || typeof value.name !== 'string') return null;
  const role = value.role === 'teacher' || value.role === 'viewer' ? value.role : 'student';
  const streams = Array.isArray(value.streams) ? value.streams.filter((s): s is string => typeof s === 'string') : [];
  const said = (flag: JsonValue | undefined) => (typeof flag === 'boolean' ? flag : null);
  return {
    id: value.id, name: value.name, role, hand: value.hand === true, streams, joinedAt: typeof value.joinedAt === 'number' ? value.joinedAt : 0,
    audioMuted: said(value.audioMuted), videoMuted: said(value.videoMuted),
  };
}

export function participantsOf(roster: Record<string, JsonValue>, selfId: string | null): Participant[] {
  return Object.values(roster)
    .map(toMember)
    .filter((m): m is RosterMember => m !== null)
    .map((m) => ({ ...m, self: m.id === selfId }))
    .sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.joinedAt - b.joinedAt || a.name.localeCompare(b.name));
}

export function tilesOf(participants: Participant[]): Tile[] {
  return participants.flatMap((p): Tile[] => {
    const base = { memberId: p.id, name: p.name, role: p.role, self: p.self, audioMuted: p.audioMuted, videoMuted: p.videoMuted };
    if (p.streams.length === 0) return [{ ...base, key: `member:${p.id}`, stream: null }];
    return p.streams.map((stream) => ({ ...base, key: stream, stream }));
  });
}

/** The tiles with the pinned one (by key) first, the others in their order; as they are when it is gone. */
export function pinnedFirst(tiles: readonly Tile[], pinned: string | null): Tile[] {
  const index = pinned === null ? -1 : tiles.findIndex((t) => t.key === pinned);
  return index < 0 ? [...tiles] : [tiles[index]!, ...tiles.slice(0, index), ...tiles.slice(index + 1)];
}

export function chatOf(chat: Record<string, JsonValue>): ChatMessage[] {
  return Object.keys(chat).sort().map((key) => chat[key]).flatMap((value): ChatMessage[] => {
    if (!isRecord(value) || typeof value.text !== 'string' || typeof value.name !== 'string') return [];
    const role = value.role === 'teacher' || value.role === 'viewer' ? value.role : 'student';
    return [{ id: Number(value.id ?? 0), from: String(value.from ?? ''), name: value.name, role, text: value.text, at: Number(value.at ?? 0) }];
  });
}

export function recordingOf(room: Record<string, JsonValue>): RecordingState {
  const value = room.recording;
  if (!isRecord(value) || value.active !== true) return { active: false };
  return { active: true, startedAt: typeof value.startedAt === 'string' ? value.startedAt : null, by: typeof value.by === 'string' ? value.by : null };
}

export function strokesOf(whiteboard: Record<string, JsonValue>): Stroke[] {
  return Object.keys(whiteboard).sort().map((key) => whiteboard[key]).flatMap((value): Stroke[] => {
    if (!isRecord(value) || !Array.isArray(value.points)) return [];
    const points = value.points.filter((p): p is number => typeof p === 'number');
    return [{ id: Number(value.id ?? 0), by: String(value.by ?? ''), byName: typeof value.byName === 'string' ? value.byName : '', tool: typeof value.tool === 'string' ? value.tool : 'pen',
      color: typeof value.color === 'number' ? value.color : 0, width: typeof value.width === 'number' ? value.width : 2, points }];
  });
}

/** A stroke's colour (a 0xRRGGBB number, as Flash clients send it) as CSS. */
export function cssColor(color: number): string {
  return `#${(color & 0xffffff).toString(16).padStart(6, '0')}`;
}

/** The shared objects' data the snapshot is made of (missing ones read as empty). */
export interface RoomObjects {
  roster?: Record<string, JsonValue> | undefined;
  chat?: Record<string, JsonValue> | undefined;
  room?: Record<string, JsonValue> | undefined;
  whiteboard?: Record<string, JsonValue> | undefined;
}

/** The room from the shared objects' data. */
export function roomSnapshot(objects: RoomObjects, selfId: string | null): RoomSnapshot {
  const participants = participantsOf(objects.roster ?? {}, selfId);
  return {
    participants,
    tiles: tilesOf(participants),
    raisedHands: participants.filter((p) => p.hand),
    chat: chatOf(objects.chat ?? {}),
    recording: recordingOf(objects.room ?? {}),
    strokes: strokesOf(objects.whiteboard ?? {}),
  };
}

/** Streams of other members: what the page plays. */
export function remoteStreams(snapshot: RoomSnapshot): string[] {
  return snapshot.tiles.filter((t) => !t.self && t.stream !== null).map((t) => t.stream!);
}

/**
 * A stream name for a member's camera: their name made safe (letters, digits, '-', '_', '.') with
 * `-cam`, which the classroom lets them publish as it begins with their own name; a name with
 * nothing safe in it (李老师) gets `cam-` and a random suffix.
 */
export function cameraStreamName(name: string, random: () => number = Math.random): string {
  const safe = name.normalize('NFKD').replace(/\p{M}/gu, '').replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 48);
  return safe ? `${safe}-cam` : `cam-${Math.floor(random() * 0xffffff).toString(36)}`;
}
