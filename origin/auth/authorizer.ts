/**
 * The origin's one authorization point. Each application has a policy (`--auth`):
 * - `required`: a client proves who it is with a signed token (tokens.ts). An application that
 *   admits members at connect (the classroom: a name and a role in the roster) needs the token
 *   with connect; elsewhere (`live`) a connect without one is only a transport, and each publish
 *   or play brings its token (`?token=` on the stream name, as ffmpeg and OBS can send it).
 * - `optional`: a token counts as under `required`; without one, a client is anonymous: a student
 *   in the classroom, a viewer elsewhere, who may play and nothing else, unless the configuration
 *   lets the application's anonymous clients publish too (`anonymousPublish`).
 * - `legacy`: today's Red5 behaviour for old Flash clients that cannot pass tokens: roles as the
 *   client declares them (a token, if given, still counts). Logged as a warning at start; never
 *   the classroom's default.
 * Connect, publish, play, privileged methods and HTTP downloads all ask here; refusals are
 * AccessDeniedErrors, which each protocol maps to its own status once.
 */
import type { AmfValue } from '#protocol/amf/types.ts';
import { tokenInQuery } from '#common/request-token.ts';
import type { Scope } from '../core/scope.ts';
import { AccessDeniedError } from '#common/auth/access-denied.ts';
import { Identity, requireAccess, type Right, type Role } from '#common/auth/identity.ts';
import type { TokenService } from '#common/auth/tokens.ts';

export type AuthPolicy = 'required' | 'optional' | 'legacy';
export const AUTH_POLICIES: readonly AuthPolicy[] = ['required', 'optional', 'legacy'];

/** The classroom admits people, so it never defaults to legacy; plain applications keep today's open behaviour. */
export function defaultAuthPolicy(application: string): AuthPolicy {
  return application === 'classroom' ? 'required' : 'legacy';
}

function isObject(value: AmfValue | undefined): value is Record<string, AmfValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date) && !(value instanceof Uint8Array);
}

/** The connect's token: a `token` in the first argument object, else `?token=` in the app or the tcUrl. */
export function connectToken(commandObject: Record<string, AmfValue>, args: readonly AmfValue[]): string | null {
  const [first] = args;
  if (isObject(first) && typeof first.token === 'string' && first.token) return first.token;
  for (const url of [commandObject.app, commandObject.tcUrl]) {
    if (typeof url === 'string') {
      const token = tokenInQuery(url);
      if (token) return token;
    }
  }
  return null;
}

/** The role a legacy client declares: `{ role }` in the first argument, or the second argument. */
function declaredRole(args: readonly AmfValue[]): Role {
  const [first, second] = args;
  const role = isObject(first) ? first.role : second;
  return role === 'teacher' ? 'teacher' : 'student';
}

export interface AuthorizerOptions {
  tokens: TokenService;
  /** Policies set by the configuration; applications not listed get defaultAuthPolicy. */
  policies: ReadonlyMap<string, AuthPolicy>;
  /** Applications (under `optional`) whose clients without a token may publish as well as play. */
  anonymousPublish?: readonly string[];
}

export class Authorizer {
  readonly tokens: TokenService;
  readonly #policies: ReadonlyMap<string, AuthPolicy>;
  readonly #anonymousPublish: ReadonlySet<string>;

  constructor(options: AuthorizerOptions) {
    this.tokens = options.tokens;
    this.#policies = options.policies;
    this.#anonymousPublish = new Set(options.anonymousPublish ?? []);
  }

  policyOf(application: string): AuthPolicy {
    return this.#policies.get(application) ?? defaultAuthPolicy(application);
  }

  /**
   * Who connects to `scope`: the token's identity (its room must cover the scope), or by policy
   * the declared or anonymous identity; null when the application's policy leaves it to each
   * publish and play. `admitsMembers`: the application needs to know who connects (the classroom).
   */
  async connect(scope: Scope, token: string | null, args: readonly AmfValue[], admitsMembers: boolean): Promise<Identity | null> {
    if (token !== null) return this.#verifyFor(scope.path, token);
    switch (this.policyOf(scope.application)) {
      case 'legacy':
        return Identity.declared(declaredRole(args));
      case 'optional':
        return Identity.anonymous(admitsMembers ? 'student' : 'viewer', this.#anonymousPublish.has(scope.application) ? ['play', 'publish'] : ['play']);
      case 'required':
        if (admitsMembers) throw new AccessDeniedError('auth.no_token', `${scope.application} needs a token to join: connect with { token } or ?token= in the URL`);
        return null;
    }
  }

  /** The identity a stream name's own token (`?token=`) proves for `scope`; AccessDeniedError otherwise. */
  async streamToken(scope: Scope, token: string): Promise<Identity> {
    return this.#verifyFor(scope.path, token);
  }

  /** A publish or play in `scope` by `identity` (null: the connection brought none); returns it, or throws AccessDeniedError. */
  allowStream(scope: Scope, identity: Identity | null, right: 'publish' | 'play'): Identity {
    if (!identity) throw new AccessDeniedError('auth.no_token', `a token is needed to ${right} here: add ?token= to the stream name or connect with one`);
    this.require(identity, right, scope.path);
    return identity;
  }

  /** Throws AccessDeniedError unless `identity` has `right` in `scopePath`. */
  require(identity: Identity, right: Right, scopePath: string): void {
    requireAccess(identity, scopePath, right);
  }

  /** An HTTP request's bearer token (or null): the identity, or AccessDeniedError (401 without a valid one). */
  async http(token: string | null): Promise<Identity> {
    if (token === null) throw new AccessDeniedError('auth.no_token', 'a token is needed: Authorization: Bearer TOKEN, or ?token=');
    return this.tokens.verify(token);
  }

  async #verifyFor(scopePath: string, token: string): Promise<Identity> {
    const identity = await this.tokens.verify(token);
    requireAccess(identity, scopePath);
    return identity;
  }
}
