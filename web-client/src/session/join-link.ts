/**
 * What the lobby is given by its link (`?room=R&token=T`, as `npm run token` or a school's portal
 * makes it): the room, the token, and the name and role the token carries, read (not verified: the
 * edge and the origin verify) so the lobby can show who the user will be. A token's room claim
 * (`classroom/ROOM`) names the room when the link does not.
 */
export interface JoinLink {
  room: string;
  token: string | null;
  name: string;
  role: 'teacher' | 'student' | 'viewer' | null;
  /** The token could not be read (the join will say why it is refused). */
  unreadableToken: boolean;
}

/** The claims of a JWT's payload, or null when it is not one. */
export function tokenClaims(token: string): Record<string, unknown> | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    const claims: unknown = JSON.parse(json);
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? claims as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

export function parseJoinLink(search: string): JoinLink {
  const params = new URLSearchParams(search);
  const token = params.get('token') || null;
  const claims = token ? tokenClaims(token) : null;
  const claimedRoom = typeof claims?.room === 'string' && claims.room.startsWith('classroom/') ? claims.room.slice('classroom/'.length) : '';
  const role = claims?.role === 'admin' ? 'teacher' : claims?.role;
  return {
    room: params.get('room') || (claimedRoom !== '*' ? claimedRoom : ''),
    token,
    name: typeof claims?.name === 'string' ? claims.name : params.get('name') ?? '',
    role: role === 'teacher' || role === 'student' || role === 'viewer' ? role : null,
    unreadableToken: token !== null && claims === null,
  };
}
