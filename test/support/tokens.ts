/**
 * Tokens for tests, signed with the secret a test origin made in its data folder (`token-secret`),
 * as `npm run token` and `POST /api/tokens` sign them: an admin token for the HTTP API, and
 * teacher, student or viewer tokens for rooms.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenService, type TokenClaims } from '#common/auth/tokens.ts';

/** A token from the origin whose data folder is `dataDir`, valid for `ttlSeconds` (an hour). */
export function mintToken(dataDir: string, claims: Partial<TokenClaims> & Pick<TokenClaims, 'room' | 'role'>, ttlSeconds = 3600): Promise<string> {
  const tokens = new TokenService(readFileSync(join(dataDir, 'token-secret'), 'utf8').trim());
  const name = claims.name ?? claims.role;
  return tokens.sign({ sub: claims.sub ?? name, name, ...claims }, ttlSeconds);
}

/** The origin's admin token (every room, every right). */
export function adminToken(dataDir: string): Promise<string> {
  return mintToken(dataDir, { room: '*', role: 'admin', name: 'admin' });
}

/** `Authorization: Bearer` headers for fetch. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
