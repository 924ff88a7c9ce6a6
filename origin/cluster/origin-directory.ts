/**
 * The origin directory: which origins are alive (each holds a lease it refreshes, carrying its link
 * address and load) and which origin owns each room. Origins register themselves; edges and origins
 * ask it where a room lives. Two implementations: `LocalOriginDirectory` (one process, today's single
 * origin: what runs without `--cluster`) and `RedisOriginDirectory` (`--cluster redis://HOST:PORT`).
 *
 * A room is placed on first use on the least-loaded live origin and stays there while that origin's
 * lease lives; once the lease is gone (the origin died or left) the next use places it again.
 * Racing callers get the same owner: a placement is one atomic step in the store.
 */
import type { EventEmitter } from 'node:events';
import { CodedError } from '#protocol/errors.ts';

/** What an origin reports about itself with every lease refresh. */
export interface OriginLoad {
  /** Client sessions (direct and through edges). */
  clients: number;
  /** Live streams it holds. */
  streams: number;
  /** Media bitrate in, bits per second. */
  bitrateBps: number;
  /** CPU in use, in cores (0.5 is half a core). */
  cpu: number;
}

/** What an origin registers: who it is and where edges link to it. */
export interface OriginRegistration {
  /** The origin's name (stable across restarts; one lease per run). */
  originId: string;
  /** HOST:PORT of its edge link listener. */
  linkAddress: string;
  load: OriginLoad;
}

/** A live origin as the directory holds it. */
export interface LiveOrigin extends OriginRegistration {
  /** This run's lease: `originId` and a random part, so a restarted origin does not inherit the rooms of its last run. */
  leaseId: string;
  /** Rooms placed on this lease (counted at placement, so a burst of new rooms spreads before loads are reported). */
  rooms: number;
}

/** A room as the directory holds it: who owns it now (null when its owner's lease is gone: it is placed again on its next use). */
export interface RoomPlacement {
  roomKey: string;
  owner: LiveOrigin | null;
}

export interface OriginDirectoryEvents {
  /** An origin's lease appeared (seen by the directory's watch; at start, once per live origin). */
  'origin-up': [origin: LiveOrigin];
  /** An origin's lease expired or was given up. */
  'origin-down': [origin: LiveOrigin];
  /** A room this origin holds was placed elsewhere while its lease had lapsed (found when it re-asserts its rooms). */
  'room-lost': [roomKey: string, owner: LiveOrigin | null];
  /** The store stopped answering: running state goes on from what is known, new placements wait. */
  unavailable: [reason: string];
  /** The store answers again. */
  available: [];
}

/** What a directory counts (read by metrics and tests). */
export interface OriginDirectoryStats {
  /** Whether the store answers now. */
  available: boolean;
  /** Operations that found the store unavailable and waited to try again. */
  retries: number;
  /** Placements waiting for the store now. */
  waitingPlacements: number;
}

export interface OriginDirectory extends EventEmitter<OriginDirectoryEvents> {
  /**
   * Registers this process as an origin: its lease is written now and refreshed until `close()`.
   * One registration per directory.
   */
  register(registration: OriginRegistration): Promise<LiveOrigin>;
  /** The load the next lease refresh carries. */
  reportLoad(load: OriginLoad): void;
  /** The live origins with their load (the last known list while the store is unavailable). */
  origins(): Promise<LiveOrigin[]>;
  /**
   * The owner of `roomKey`, placing it on the least-loaded live origin if it has no live owner.
   * Waits while the store is unavailable (unless the room's owner is known and alive); rejects with
   * `NoLiveOriginError` when no origin holds a lease (after waiting one lease time for one: origins
   * register again within that after a Redis restart), `DirectoryClosedError` once closed.
   */
  placeRoom(roomKey: string): Promise<LiveOrigin>;
  /** Every room placed, with its live owner (the admin API's view of the cluster). Reads the store; rejects while it is unavailable. */
  placements(): Promise<RoomPlacement[]>;
  /** The live owner of `roomKey`, or null (never placed, or its owner's lease is gone). Places nothing. */
  ownerOf(roomKey: string): Promise<LiveOrigin | null>;
  /**
   * This registered origin runs `roomKey`: it claims the room if it has no live owner, and claims it
   * again whenever the store comes back without it (a restarted Redis). Resolves with the owner.
   */
  holdRoom(roomKey: string): Promise<LiveOrigin>;
  /** This origin no longer runs `roomKey` (the room ended): the placement is removed if it is still ours (true when it was). */
  releaseRoom(roomKey: string): Promise<boolean>;
  readonly stats: OriginDirectoryStats;
  /** This process's registration (null before register()). */
  readonly self: LiveOrigin | null;
  /** Gives up this origin's lease (others see it go at once), stops the watch, closes the connection. */
  close(): Promise<void>;
}

/** No origin holds a live lease: nothing to place a room on. */
export class NoLiveOriginError extends CodedError {
  constructor(roomKey: string) {
    super('directory.no_live_origin', `no live origin to place room ${roomKey} on`);
  }
}

/** The directory was closed while an operation waited or after. */
export class DirectoryClosedError extends CodedError {
  constructor() {
    super('directory.closed', 'the origin directory is closed');
  }
}

/** An operation that needs this directory to be registered as an origin (holdRoom, releaseRoom, reportLoad) before register(). */
export class NotRegisteredError extends CodedError {
  constructor(operation: string) {
    super('directory.not_registered', `${operation} needs register() first`);
  }
}

/** The lease id of an origin's run: its name and a random part. */
export function newLeaseId(originId: string): string {
  return `${originId}#${crypto.randomUUID().slice(0, 8)}`;
}
