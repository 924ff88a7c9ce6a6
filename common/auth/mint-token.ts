/**
 * `npm run token -- --room ROOM --role teacher --name NAME [--ttl 2h]`: prints a signed token (and a
 * link that opens the classroom page with it) for a teacher, student or viewer, signed with the
 * origin's secret (`<data-dir>/token-secret`, made on first use, or `--token-secret-file`). `--room`
 * is `APP/ROOM` (`classroom/math`), a bare room name meaning the classroom's, `APP/*` for every
 * room of an application, or `*`; `--role admin --room '*'` makes the admin token the HTTP API
 * wants. A school's own portal can instead POST /api/tokens with the admin token.
 */
import { parseFlags } from '#common/service-main.ts';
import { secretFromFile, storedSecret } from '#common/stored-secret.ts';
import { ROLES, RIGHTS, type Right, type Role } from './identity.ts';
import { parseTtl, TokenService } from './tokens.ts';

const usage = `usage: npm run token -- --room ROOM --role ${ROLES.join('|')} --name NAME [--sub ID] [--ttl 2h] [--can ${RIGHTS.join(',')}]
  [--data-dir DIR | --token-secret-file FILE] [--link-base http://EDGE:8080/]`;

async function main(argv: string[]): Promise<void> {
  const values = parseFlags(argv, ['room', 'role', 'name', 'sub', 'ttl', 'can', 'data-dir', 'token-secret-file', 'link-base'], [], usage);
  const { room: rawRoom, role, name } = values;
  if (!rawRoom || !role || !name) throw new Error(`--room, --role and --name are needed\n${usage}`);
  if (!ROLES.includes(role as Role)) throw new Error(`--role must be one of ${ROLES.join(', ')}\n${usage}`);
  const room = rawRoom === '*' || rawRoom.includes('/') ? rawRoom : `classroom/${rawRoom}`;
  const can = values.can?.split(',').map((right) => right.trim()).filter(Boolean);
  if (can && !can.every((right) => RIGHTS.includes(right as Right))) throw new Error(`--can lists rights among ${RIGHTS.join(', ')}\n${usage}`);
  const ttlSeconds = parseTtl(values.ttl ?? '2h');
  const secret = values['token-secret-file'] ? secretFromFile(values['token-secret-file']) : storedSecret(values['data-dir'] ?? process.env.ORIGIN_DATA_DIR ?? './data', 'token-secret');
  const token = await new TokenService(secret).sign({ sub: values.sub ?? name, name, room, role: role as Role, ...(can ? { can: can as Right[] } : {}) }, ttlSeconds);
  console.log(token);
  const classroomRoom = /^classroom\/([^*]+)$/.exec(room)?.[1];
  if (classroomRoom) {
    const link = new URL(values['link-base'] ?? 'http://127.0.0.1:8080/');
    link.searchParams.set('room', classroomRoom);
    link.searchParams.set('token', token);
    console.log(`classroom link (valid ${values.ttl ?? '2h'}): ${link.href}`);
  }
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
