/**
 * Who a client is and what it may do, as the origin decides it once at connect (Authorizer): from
 * a signed token (tokens.ts), or, where an application's policy allows it, from what the client
 * declares (`legacy`) or nothing at all (`optional`: anonymous). Every later check (publish, play,
 * a privileged method, a download) asks the identity, so roles never come from what a client says
 * after the fact, and a token for one room opens no other. Origin and edge both ask it.
 */
import { AccessDeniedError } from './access-denied.ts';

export type Role = 'admin' | 'teacher' | 'student' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'teacher', 'student', 'viewer'];

/** What a token's `can` claim may list; without one, the role's defaults (ROLE_RIGHTS) apply. */
export type Right = 'publish' | 'play' | 'record' | 'whiteboard.clear' | 'hand.lower' | 'presence.check' | 'recordings.read' | 'tokens.mint' | 'admin.api';
export const RIGHTS: readonly Right[] = ['publish', 'play', 'record', 'whiteboard.clear', 'hand.lower', 'presence.check', 'recordings.read', 'tokens.mint', 'admin.api'];

const ROLE_RIGHTS: Readonly<Record<Role, readonly Right[]>> = {
  admin: RIGHTS,
  teacher: ['publish', 'play', 'record', 'whiteboard.clear', 'hand.lower', 'presence.check', 'recordings.read'],
  student: ['publish', 'play'],
  viewer: ['play'],
};

/** Where the identity came from: a verified token, the client's own word (legacy policy), or nothing. */
export type IdentitySource = 'token' | 'declared' | 'anonymous';

export class Identity {
  /** The token's subject (a user id); null without a token. Logged instead of the token. */
  readonly sub: string | null;
  /** The display name the token gives; null: the client names itself (legacy, anonymous). */
  readonly name: string | null;
  readonly role: Role;
  /** `app/room` the identity is for, or a pattern ending in `/*` (a room and those under it), or `*` (every room). */
  readonly room: string;
  readonly source: IdentitySource;
  readonly #rights: ReadonlySet<Right>;

  constructor(fields: { sub: string | null; name: string | null; role: Role; room: string; source: IdentitySource; can?: readonly Right[] | undefined }) {
    this.sub = fields.sub;
    this.name = fields.name;
    this.role = fields.role;
    this.room = fields.room;
    this.source = fields.source;
    this.#rights = new Set(fields.can ?? ROLE_RIGHTS[fields.role]);
  }

  /** Whoever declared themselves under the legacy policy: today's behaviour, the declared role's rights in any room. */
  static declared(role: Role): Identity {
    return new Identity({ sub: null, name: null, role, room: '*', source: 'declared' });
  }

  /** No token under the optional policy: `role` (student or viewer) with `rights`. */
  static anonymous(role: Role, rights: readonly Right[]): Identity {
    return new Identity({ sub: null, name: null, role, room: '*', source: 'anonymous', can: rights });
  }

  /** True when `scopePath` (`app/room...`) is this identity's room (or under its pattern). */
  covers(scopePath: string): boolean {
    if (this.room === '*') return true;
    if (this.room.endsWith('/*')) {
      const base = this.room.slice(0, -2);
      return scopePath === base || scopePath.startsWith(`${base}/`);
    }
    return scopePath === this.room;
  }

  /** True when a recording's path (relative to the recordings folder, `app/room/.../file.flv`) lies in this identity's room. */
  ownsRecording(relativePath: string): boolean {
    // A path that climbs ('..'), or hides its segments, belongs to nobody (it could leave the room's folder).
    if (relativePath.split(/[\\/]/).some((segment) => segment === '..' || segment === '.' || segment === '')) return false;
    if (this.room === '*') return true;
    const base = this.room.endsWith('/*') ? this.room.slice(0, -2) : this.room;
    return relativePath.startsWith(`${base}/`);
  }

  may(right: Right): boolean {
    return this.#rights.has(right);
  }

  get rights(): Right[] { return [...this.#rights]; }

  /** For log lines: never the token, its subject and role. */
  describe(): Record<string, string> {
    return { auth: this.source, role: this.role, ...(this.sub !== null ? { sub: this.sub } : {}) };
  }
}

/**
 * Throws AccessDeniedError unless `identity` is for `scopePath` (auth.wrong_room) and, when `right`
 * is given, may do it there (auth.forbidden). The edge asks the same (gateway/http/edge-token-check.ts).
 */
export function requireAccess(identity: Identity, scopePath: string, right?: Right): void {
  if (!identity.covers(scopePath)) throw new AccessDeniedError('auth.wrong_room', `this token is for ${identity.room}, not ${scopePath}`);
  if (right !== undefined && !identity.may(right)) throw new AccessDeniedError('auth.forbidden', `a ${identity.role} may not ${right} here`);
}
