/**
 * Signed tokens (JWT, HS256 through `jose`): what a school's portal or `npm run token` gives a
 * teacher or student, and what the origin checks at connect, publish, play and download. Claims:
 * `sub` (user id), `name` (display name), `room` (`app/room`, `app/room/*` or `*`), `role` (admin,
 * teacher, student, viewer), optional `can` (rights, replacing the role's defaults), `exp`. A
 * token that is malformed, signed with another secret, expired, or with claims out of shape is
 * refused with an AccessDeniedError saying which; the token itself is never logged.
 */
import { AccessDeniedError } from './access-denied.ts';
import { Identity, RIGHTS, ROLES, type Right, type Role } from './identity.ts';
import { lazyImport } from '../lazy-require.ts';

/** jose (some 50 modules), loaded by the first token signed or checked: not by a server no token reached. */
const jose = lazyImport(() => import('jose'));

const ALGORITHM = 'HS256';
const ISSUER = 'classroom-gateway';
/** A JWT longer than this is not one of ours (and not worth decoding). */
const MAX_TOKEN_LENGTH = 4096;
/** Clock difference between the machine that minted a token and this one, tolerated. */
const CLOCK_TOLERANCE_S = 30;

export interface TokenClaims {
  sub: string;
  name: string;
  room: string;
  role: Role;
  can?: Right[];
}

/** `2h`, `30m`, `45s`, `7d` or plain seconds. */
export function parseTtl(ttl: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(ttl.trim());
  if (!match) throw new Error(`a lifetime is a number with s, m, h or d (e.g. 2h), got ${JSON.stringify(ttl)}`);
  const seconds = Number(match[1]) * ({ '': 1, s: 1, m: 60, h: 3600, d: 86400 } as const)[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  if (seconds < 1 || seconds > 366 * 86400) throw new Error(`a lifetime must be between 1 s and a year, got ${ttl}`);
  return seconds;
}

export class TokenService {
  readonly #key: Uint8Array;

  /** `secret`: at least 32 bytes of text (the data folder's token-secret, or a file the operator gives). */
  constructor(secret: string) {
    if (Buffer.byteLength(secret) < 32) throw new Error('the token signing secret must be at least 32 bytes');
    this.#key = new TextEncoder().encode(secret);
  }

  async sign(claims: TokenClaims, ttlSeconds: number): Promise<string> {
    checkClaims({ ...claims });
    const { SignJWT } = await jose();
    return await new SignJWT({ name: claims.name, room: claims.room, role: claims.role, ...(claims.can ? { can: claims.can } : {}) })
      .setProtectedHeader({ alg: ALGORITHM })
      .setSubject(claims.sub)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(this.#key);
  }

  /** The identity a token proves; AccessDeniedError (auth.expired, auth.bad_token) otherwise. */
  async verify(token: string): Promise<Identity> {
    if (token.length > MAX_TOKEN_LENGTH) throw new AccessDeniedError('auth.bad_token', `the token is longer than ${MAX_TOKEN_LENGTH} characters`);
    const { jwtVerify, errors: joseErrors } = await jose();
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.#key, { algorithms: [ALGORITHM], issuer: ISSUER, clockTolerance: CLOCK_TOLERANCE_S, requiredClaims: ['exp', 'sub'] }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new AccessDeniedError('auth.expired', 'the token has expired: ask for a new one');
      if (error instanceof joseErrors.JWSSignatureVerificationFailed) throw new AccessDeniedError('auth.bad_token', 'the token was not signed by this server');
      throw new AccessDeniedError('auth.bad_token', `the token is not valid: ${(error as Error).message}`);
    }
    const claims = { sub: payload.sub, name: payload.name, room: payload.room, role: payload.role, ...(payload.can !== undefined ? { can: payload.can } : {}) };
    try {
      checkClaims(claims);
    } catch (error) {
      throw new AccessDeniedError('auth.bad_token', `the token's claims are not usable: ${(error as Error).message}`);
    }
    return new Identity({ sub: claims.sub, name: claims.name, role: claims.role, room: claims.room, source: 'token', can: claims.can });
  }
}

/** Throws (a message naming the claim) unless the claims have the shape tokens need. */
function checkClaims(claims: Record<string, unknown>): asserts claims is Record<string, unknown> & TokenClaims {
  const text = (key: string, max: number) => {
    const value = claims[key];
    if (typeof value !== 'string' || value.trim() === '' || value.length > max) throw new Error(`${key} must be a text of 1..${max} characters`);
  };
  text('sub', 256);
  text('name', 64);
  text('room', 256);
  if (!ROLES.includes(claims.role as Role)) throw new Error(`role must be one of ${ROLES.join(', ')}`);
  if (claims.can !== undefined && (!Array.isArray(claims.can) || !claims.can.every((right) => RIGHTS.includes(right as Right)))) {
    throw new Error(`can must list rights among ${RIGHTS.join(', ')}`);
  }
}
