/**
 * What every session of the origin shares: the services of the origin it belongs to. Sessions
 * get this one object instead of a growing list of constructor arguments.
 */
import type { EventEmitter } from 'node:events';
import type { LiveStream } from '#common/media/live-stream.ts';
import type { StreamHub } from './stream-hub.ts';
import type { Applications } from '../app/applications.ts';
import type { Authorizer } from '../auth/authorizer.ts';

/** A room recording as the application sees it (see origin/recording/room-recorder.ts). */
export interface RoomRecordingInfo {
  /** Scope path of the room, e.g. `classroom/room42`. */
  room: string;
  /** ISO 8601 times. */
  startedAt: string;
  stoppedAt?: string;
  /** Who started it (an application-defined user id), if known. */
  by?: string;
  /** Absolute path of the room's JSON manifest. */
  manifest: string;
}

export interface RecordingsEvents {
  /** A room's recording started (`active` true) or stopped. */
  room: [scopePath: string, active: boolean];
}

/** Recording of rooms, used by applications (the classroom starts/stops lesson recordings). */
export interface Recordings extends EventEmitter<RecordingsEvents> {
  /** Starts recording every stream published in the room (already recording: the current info). */
  startRoom(scopePath: string, by?: string): Promise<RoomRecordingInfo>;
  /** Stops it; null if the room was not being recorded. */
  stopRoom(scopePath: string): Promise<RoomRecordingInfo | null>;
  isRoomRecording(scopePath: string): boolean;
  /** Sessions: a publish started (recorded if its type or its room asks for it). */
  publishStarted(publish: RecordablePublish): void;
  /** Sessions: that publish stopped. */
  publishStopped(publish: RecordablePublish): void;
  /** Sessions (VOD): the recorded FLV or MP3 file a play name refers to in a scope, or null. */
  findMedia(scopePath: string, name: string): Promise<{ path: string; kind: 'flv' | 'mp3' } | null>;
}

/** A publish as the recording service sees it (origin/session/publisher.ts implements it). */
export interface RecordablePublish {
  readonly scopePath: string;
  readonly name: string;
  readonly type: 'live' | 'record' | 'append';
  readonly stream: LiveStream;
  readonly clientId: number;
  /** Sends a NetStream.Record.* status to the publishing client. */
  recordStatus(level: 'status' | 'error', code: string, description: string): void;
}

export interface OriginContext {
  /** Live streams, published into and subscribed from. */
  readonly hub: StreamHub;
  /** Stream and room recordings. */
  readonly recordings: Recordings;
  /** Applications by name (rooms, remoting, shared objects). */
  readonly applications: Applications;
  /** The one authorization point: connect, publish, play, privileged methods. */
  readonly authorizer: Authorizer;
  /** Cluster mode: a client joins a room only once this origin owns it (rejects with NotOwnerError otherwise); null without --cluster. */
  readonly roomOwnership: { admit(roomKey: string): Promise<void> } | null;
}
