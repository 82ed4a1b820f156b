import { generateRandomState, getValidatedIdTokenClaims, type IDToken, type TokenEndpointResponse } from "oauth4webapi";
import { AuthError, AuthErrorCode } from "../shared/AuthError.js";
import type { AuthUser } from "./authState.js";

/** ID token claims, as the app sees them. */
export type Claims = Readonly<Record<string, unknown>>;

/**
 * The signed-in session as react-sso keeps it, in storage and in messages between tabs (whose
 * format older versions share: the field names stay). Times are epoch milliseconds.
 */
export interface Session {
  accessToken: string;
  /** When the access token expires by the local clock (receipt time + `expires_in`); undefined when the server did not say. */
  expiresAt: number | undefined;
  /** `expires_in` in milliseconds: the default leeway is never more than half of it, so short-lived tokens are not refreshed in a loop. */
  lifetime?: number | undefined;
  /**
   * A random id naming the refresh token held (never the token itself), new with each rotation:
   * a tab whose id is not the newest holds a rotated-away copy. (`gen`, as older versions call it.)
   */
  gen?: string | undefined;
  /** A random id of the token response this session came from: tells a tab that another one refreshed since. */
  stamp?: string | undefined;
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
 * The one conversion from the wire format (a token response validated by oauth4webapi) to
 * {@link Session}: its ID token claims (whose `azp`, when present, must be `clientId`), fresh ids
 * for `gen` (used when the response rotates the refresh token) and `stamp`, and receipt time.
 * @param previous the session being refreshed: its refresh token, ID token and user carry over.
 */
export function toSession(wire: TokenEndpointResponse, clientId: string, requestedScope: string, previous?: Session): Session {
  const idClaims = checkAzp(getValidatedIdTokenClaims(wire), clientId);
  // OIDC Core §12.2: a refreshed ID token must name the same user.
  if (idClaims && previous?.sub !== undefined && idClaims.sub !== previous.sub) {
    throw new AuthError(AuthErrorCode.InvalidIdToken, "The ID token was rejected: a refresh returned a token for another user.");
  }
  const seconds = wire.expires_in;
  return {
    accessToken: wire.access_token,
    // Receipt time plus expires_in, so a skewed device clock does not matter (the JWT exp would).
    expiresAt: seconds === undefined ? undefined : Date.now() + seconds * 1000,
    lifetime: seconds === undefined ? undefined : seconds * 1000,
    // RFC 6749 §6: without a new refresh token in the response, the old one stays valid.
    refreshToken: wire.refresh_token ?? previous?.refreshToken,
    gen: wire.refresh_token ? generateRandomState() : previous?.gen,
    stamp: generateRandomState(),
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

const is = (value: unknown, type: string) => value === undefined || typeof value === type;

/**
 * Reads back a session from storage or from another tab, which may run an older or newer
 * deploy: anything of another shape counts as none.
 */
export function readSession(value: unknown): Session | undefined {
  const v = value as Record<string, unknown> | null | undefined;
  const ok =
    typeof v?.accessToken === "string" &&
    Array.isArray(v.scopes) &&
    v.scopes.every((s) => typeof s === "string") &&
    typeof v.claims === "object" &&
    v.claims !== null &&
    ["refreshToken", "idToken", "sub", "gen", "stamp"].every((k) => is(v[k], "string")) &&
    ["expiresAt", "lifetime"].every((k) => is(v[k], "number")) &&
    is(v.cookie, "boolean");
  return ok ? (v as unknown as Session) : undefined;
}

/** OIDC Core §3.1.3.7: an ID token's authorized party (`azp`), when it names one, must be this client. */
function checkAzp(claims: IDToken | undefined, clientId: string): IDToken | undefined {
  if (claims?.azp !== undefined && claims.azp !== clientId) {
    throw new AuthError(AuthErrorCode.InvalidIdToken, `The ID token was rejected: it was issued to another client (azp ${JSON.stringify(String(claims.azp).slice(0, 100))}).`);
  }
  return claims;
}

/** What the app may see of a session: no token. */
export const userOf = (s: Session): AuthUser => Object.freeze({ sub: s.sub, claims: s.claims, scopes: s.scopes });

/** A refresh is possible: a refresh token here, or one in the token proxy's cookie. */
export const canRefresh = (s: Session): boolean => s.refreshToken !== undefined || s.cookie === true;

/** The access token is still valid `ms` from now (a token without a stated expiry always is). */
export const validFor = (s: Session, ms: number): boolean => s.expiresAt === undefined || s.expiresAt - Date.now() > ms;

/** How long before expiry a token counts as expiring: a minute, or half its lifetime when that is shorter, so a 30-second token is not "always expiring". */
export const leeway = (s: Session): number => Math.min(60_000, (s.lifetime ?? Infinity) / 2);
