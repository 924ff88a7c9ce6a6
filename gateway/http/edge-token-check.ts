/**
 * The edge's own look at a token on its HTTP routes (WHIP, WHEP, HTTP/WS-FLV, the /ws join) when the
 * operator gives it the origin's token secret (`tokenSecretFile`): a token that is malformed,
 * expired, signed with another secret, for another room, or without the right the route needs is
 * refused here (401, or 403 for a valid token that does not allow it; `forbidden` on the WebSocket)
 * before any session is opened on the link, so bad tokens cost the origin nothing. Without the
 * secret, and for a request that brings no token (whether one is needed is the application's policy,
 * which only the origin knows), the request goes on and the origin decides as always: the edge only
 * refuses what the origin would refuse too, with the same rules (common/auth/identity.ts).
 */
import { accessDeniedStatus, AccessDeniedError, isAccessDeniedCode } from '#common/auth/access-denied.ts';
import { requireAccess, type Right } from '#common/auth/identity.ts';
import { TokenService } from '#common/auth/tokens.ts';
import { countEdgeTokenRefusal } from '../edge-metrics.ts';

/** The HTTP status for the origin's authorization refusal of a session (LinkClient.accessDenied): 401 or 403, null when it was no such refusal. */
export function originRefusalStatus(code: string | null): 401 | 403 | null {
  return isAccessDeniedCode(code) ? accessDeniedStatus(code) : null;
}

/** The edge's routes that check tokens, as its metrics label them. */
export type EdgeTokenRoute = 'whip' | 'whep' | 'http-flv' | 'ws-flv' | 'ws';

export class EdgeTokenCheck {
  readonly #tokens: TokenService | null;

  /** `secret`: the origin's token signing secret; null: the edge checks nothing and the origin decides. */
  constructor(secret: string | null) {
    this.#tokens = secret === null ? null : new TokenService(secret);
  }

  get enabled(): boolean { return this.#tokens !== null; }

  /**
   * Why a request on `route` for `scopePath` (`app/room`) with `token` is refused here (counted in
   * the edge's metrics), or null when it goes on to the origin. `right`: what the route does
   * (publish, play); none for a join, which the origin's application decides.
   */
  async refusal(route: EdgeTokenRoute, token: string | null, scopePath: string, right?: Extract<Right, 'publish' | 'play'>): Promise<AccessDeniedError | null> {
    if (this.#tokens === null || token === null) return null;
    try {
      requireAccess(await this.#tokens.verify(token), scopePath, right);
      return null;
    } catch (error) {
      if (!(error instanceof AccessDeniedError)) throw error;
      countEdgeTokenRefusal(route, error.code);
      return error;
    }
  }
}
