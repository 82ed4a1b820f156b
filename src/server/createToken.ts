import { AuthError, AuthErrorCode } from "../shared/AuthError.js";

/**
 * What {@link TokenSet.toJSON} gives and {@link createToken} takes back: the token response's
 * fields (snake_case, as RFC 6749 §5.1 names them) with `expires_in` replaced by the absolute
 * `expires_at`, so it can sit in a database row or a cache entry and still know its expiry.
 */
export interface TokenSetJSON {
  access_token: string;
  token_type: string;
  /** When the access token expires, as an ISO 8601 date; absent when the server stated no lifetime. */
  expires_at?: string;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
  /** Any other field of the response. */
  [field: string]: unknown;
}

/**
 * What {@link createToken} accepts: a {@link TokenSetJSON}, a token response as the server sent it
 * (`expires_in`, counted from now), or a token stored by simple-oauth2 (`expires_at` as a `Date`
 * or ISO string) or by openid-client (`expires_at` in epoch seconds).
 */
export interface TokenInput {
  access_token: string;
  /** @default "bearer" */
  token_type?: string | undefined;
  expires_at?: string | number | Date | undefined;
  /** Seconds, a number or a numeric string; used only when `expires_at` is absent. */
  expires_in?: number | string | undefined;
  refresh_token?: string | undefined;
  id_token?: string | undefined;
  scope?: string | undefined;
  [field: string]: unknown;
}

/** Tokens from a grant, as every method of {@link OAuthClient} resolves them. */
export interface TokenSet {
  readonly accessToken: string;
  /** Lower case, e.g. `"bearer"`: the scheme is case-insensitive. */
  readonly tokenType: string;
  /** When the access token expires, in epoch milliseconds (from `expires_in` at receipt); undefined when the server stated no lifetime. */
  readonly expiresAt: number | undefined;
  readonly refreshToken?: string;
  readonly idToken?: string;
  /** The granted scope, when the server said (RFC 6749 §5.1: then it may differ from the requested one). */
  readonly scope?: string;
  /** The response as received (or the JSON the set was restored from). */
  readonly raw: Readonly<Record<string, unknown>>;
  /**
   * True when the access token has expired, or will within `windowSeconds` (refresh a little
   * early, so a request does not leave with a token that expires on the way). False when the
   * expiry is unknown.
   * @param windowSeconds @default 0
   */
  expired(windowSeconds?: number): boolean;
  /** The storable form, for {@link createToken}. */
  toJSON(): TokenSetJSON;
}

function fail(field: string, expected: string): never {
  throw new AuthError(AuthErrorCode.Config, `react-sso-kit/server createToken: "${field}" ${expected}.`);
}

/** `expires_in` as a number of seconds; a non-numeric value counts as absent, never as NaN. */
export function secondsOf(value: unknown): number | undefined {
  const seconds = typeof value === "number" ? value : typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

function expiryOf(json: TokenInput, now: number): number | undefined {
  const at = json.expires_at;
  if (at !== undefined) {
    const ms = at instanceof Date ? at.getTime() : typeof at === "number" ? at * 1000 : typeof at === "string" ? Date.parse(at) : Number.NaN;
    if (!Number.isFinite(ms)) fail("expires_at", "must be a date (a Date, an ISO 8601 string, or epoch seconds)");
    return ms;
  }
  const seconds = secondsOf(json.expires_in);
  return seconds === undefined ? undefined : now + seconds * 1000;
}

function optionalString(json: TokenInput, field: "refresh_token" | "id_token" | "scope"): string | undefined {
  const value = json[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") fail(field, "must be a string");
  return value === "" ? undefined : value;
}

/**
 * Restores a {@link TokenSet} from what {@link TokenSet.toJSON} gave (a database row, a cache
 * entry), `expired()` included; also takes a token response as received, or a token stored by
 * simple-oauth2 or openid-client.
 *
 * @example
 * ```ts
 * const token = createToken(JSON.parse(row.token));
 * const fresh = token.expired(60) ? await oauth.refresh(token) : token;
 * ```
 */
export function createToken(json: TokenInput): TokenSet {
  return tokenSetOf(json, Date.now());
}

/** The set for `json`, received at `receivedAt` (epoch ms); `keepRefreshToken` stands in when it carries none. */
export function tokenSetOf(json: TokenInput, receivedAt: number, keepRefreshToken?: string): TokenSet {
  if (typeof json !== "object" || json === null) fail("json", "must be an object");
  if (typeof json.access_token !== "string" || json.access_token === "") fail("access_token", "must be a non-empty string");
  const tokenType = json.token_type ?? "bearer";
  if (typeof tokenType !== "string" || tokenType === "") fail("token_type", "must be a non-empty string");
  const expiresAt = expiryOf(json, receivedAt);
  const refreshToken = optionalString(json, "refresh_token") ?? keepRefreshToken;
  const idToken = optionalString(json, "id_token");
  const scope = optionalString(json, "scope");
  const raw = Object.freeze({ ...json });
  const set: TokenSet = {
    accessToken: json.access_token,
    tokenType: tokenType.toLowerCase(),
    expiresAt,
    ...(refreshToken === undefined ? {} : { refreshToken }),
    ...(idToken === undefined ? {} : { idToken }),
    ...(scope === undefined ? {} : { scope }),
    raw,
    expired(windowSeconds = 0) {
      if (typeof windowSeconds !== "number" || !Number.isFinite(windowSeconds)) fail("windowSeconds", "must be a number of seconds");
      return expiresAt !== undefined && Date.now() >= expiresAt - windowSeconds * 1000;
    },
    toJSON() {
      const rest: Record<string, unknown> = { ...raw };
      // Relative to a moment that has passed: expires_at replaces it.
      for (const field of ["expires_in", "expires_at", "refresh_token", "id_token", "scope"]) delete rest[field];
      const out: TokenSetJSON = { ...rest, access_token: json.access_token, token_type: tokenType };
      if (expiresAt !== undefined) out.expires_at = new Date(expiresAt).toISOString();
      if (refreshToken !== undefined) out.refresh_token = refreshToken;
      if (idToken !== undefined) out.id_token = idToken;
      if (scope !== undefined) out.scope = scope;
      return out;
    },
  };
  return Object.freeze(set);
}
