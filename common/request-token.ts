/**
 * Where a client's signed token is found, read one way at every entry point: `?token=` in a URL's
 * query (an RTMP stream name, connect's `app` or `tcUrl`, an HTTP or WebSocket URL) and, for HTTP,
 * `Authorization: Bearer TOKEN` first. The origin (HTTP API, RTMP connect, publish and play) and the
 * edge (WHIP, WHEP, HTTP/WS-FLV) both use it, so a token one accepts the other finds too. Only
 * finds the text: verifying it is the token service's (common/auth/tokens.ts).
 */

/** A token in a URL's query (`...?token=...`), or null; `url` may be a bare path or stream name. */
export function tokenInQuery(url: string): string | null {
  const query = url.indexOf('?');
  if (query < 0) return null;
  return new URLSearchParams(url.slice(query + 1)).get('token') || null;
}

/** An HTTP request's token: `Authorization: Bearer TOKEN`, else `?token=` in its URL; null without one. */
export function requestToken(req: { url?: string | undefined; headers: { authorization?: string | undefined } }): string | null {
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  return bearer ?? tokenInQuery(req.url ?? '');
}
