import type { IDToken, TokenEndpointResponse } from "oauth4webapi";
import { AuthError, AuthErrorCode } from "../shared/AuthError.js";

/** ID token claims, as the app sees them. */
export type Claims = Readonly<Record<string, unknown>>;

/** The signed-in session as react-sso keeps it. Times are epoch milliseconds. */
export interface Session {
  accessToken: string;
  /** When the access token expires by the local clock (receipt time + `expires_in`); undefined when the server did not say. */
  expiresAt: number | undefined;
  /** `expires_in` in milliseconds: the default leeway is never more than half of it, so short-lived tokens are not refreshed in a loop. */
  lifetime?: number | undefined;
  /** Names the refresh token held (never the token itself), so a tab can tell that its copy was rotated away. */
  gen?: string | undefined;
  /** The token proxy keeps a refresh token for this session in its cookie. */
  cookie?: boolean | undefined;
  refreshToken: string | undefined;
  idToken: string | undefined;
  scopes: readonly string[];
  sub: string | undefined;
  claims: Claims;
}

/** Claims that change with every token: leaving them out lets a refresh keep `user` unchanged. */
const VOLATILE_CLAIMS = new Set(["exp", "iat", "nbf", "jti", "nonce", "at_hash", "c_hash", "s_hash"]);

/**
 * The one conversion from the wire format (a token response validated by oauth4webapi, and its
 * ID token claims) to {@link Session}.
 * @param previous the session being refreshed: its refresh token, ID token and user carry over.
 */
export function toSession(
  wire: TokenEndpointResponse,
  idClaims: IDToken | undefined,
  requestedScope: string,
  now: number,
  gen: string,
  previous?: Session,
): Session {
  // OIDC Core §12.2: a refreshed ID token must name the same user.
  if (idClaims && previous?.sub !== undefined && idClaims.sub !== previous.sub) {
    throw new AuthError(AuthErrorCode.InvalidIdToken, "The ID token was rejected: a refresh returned a token for another user.");
  }
  return {
    accessToken: wire.access_token,
    // Receipt time plus expires_in, so a skewed device clock does not matter (the JWT exp would).
    expiresAt: wire.expires_in === undefined ? undefined : now + wire.expires_in * 1000,
    lifetime: wire.expires_in === undefined ? undefined : wire.expires_in * 1000,
    // RFC 6749 §6: without a new refresh token in the response, the old one stays valid.
    refreshToken: wire.refresh_token ?? previous?.refreshToken,
    gen: wire.refresh_token ? gen : previous?.gen,
    // Set by react-sso-kit/server in cookie mode whenever its cookie holds a refresh token.
    cookie: wire.refresh_token_in_cookie === true,
    idToken: wire.id_token ?? previous?.idToken,
    // RFC 6749 §5.1: scope may be omitted when it is what was requested.
    scopes: Object.freeze((wire.scope ?? previous?.scopes.join(" ") ?? requestedScope).split(" ").filter(Boolean)),
    sub: idClaims?.sub ?? previous?.sub,
    claims: idClaims
      ? Object.freeze(Object.fromEntries(Object.entries(idClaims).filter(([name]) => !VOLATILE_CLAIMS.has(name))))
      : (previous?.claims ?? Object.freeze({})),
  };
}

/** Reads back a session we stored; anything of another shape (an old version, a hand edit) counts as none. */
export function readSession(value: unknown): Session | undefined {
  const v = value as Partial<Session> | null | undefined;
  const ok = typeof v?.accessToken === "string" && Array.isArray(v.scopes) && typeof v.claims === "object" && v.claims !== null;
  return ok ? (v as Session) : undefined;
}
