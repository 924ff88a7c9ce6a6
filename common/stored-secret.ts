/**
 * A secret kept in the data folder, made on first start (32 random bytes, base64url) and readable
 * by this user only (mode 0600): the edge link's secret (`link-secret`, which edges on other
 * machines are given) and the token signing secret (`token-secret`).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function storedSecret(dataDir: string, fileName: string): string {
  const file = join(dataDir, fileName);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}

/** A secret from a file the operator gives; trailing newlines from editors are not part of it. */
export function secretFromFile(file: string): string {
  return readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
}
