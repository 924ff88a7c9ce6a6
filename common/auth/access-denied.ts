/**
 * The one error every authorization refusal is: a stable code (`auth.no_token`, `auth.expired`,
 * `auth.bad_token`, `auth.wrong_room`, `auth.forbidden`) and a reason a person can act on. Each
 * protocol maps it once: RTMP to NetConnection.Connect.Rejected or a NetStream error status with the
 * reason, the WebSocket to `{ type: 'error', code: 'forbidden' }`, HTTP to 401 (no or bad token) or
 * 403 (a valid token that does not allow it).
 */
import { ClientError } from '../client-error.ts';

export type AccessDeniedCode = 'auth.no_token' | 'auth.expired' | 'auth.bad_token' | 'auth.wrong_room' | 'auth.forbidden';
export const ACCESS_DENIED_CODES: readonly AccessDeniedCode[] = ['auth.no_token', 'auth.expired', 'auth.bad_token', 'auth.wrong_room', 'auth.forbidden'];

/** True for a refusal's code as the origin sends it (the `error` of an RTMP status), e.g. to an edge. */
export function isAccessDeniedCode(code: unknown): code is AccessDeniedCode {
  return ACCESS_DENIED_CODES.includes(code as AccessDeniedCode);
}

/** 401: the caller has not proven who it is; 403: it has, and may not. */
export function accessDeniedStatus(code: AccessDeniedCode): 401 | 403 {
  return code === 'auth.wrong_room' || code === 'auth.forbidden' ? 403 : 401;
}

export class AccessDeniedError extends ClientError {
  declare readonly code: AccessDeniedCode;
  constructor(code: AccessDeniedCode, reason: string) {
    super(code, reason);
  }

  get httpStatus(): 401 | 403 {
    return accessDeniedStatus(this.code);
  }
}
