import { decodeJwt } from "jose";
import * as oauth from "oauth4webapi";
import { AuthError, AuthErrorCode } from "../shared/AuthError.js";
import { didYouMean } from "../shared/didYouMean.js";
import { PROXY_HEADER, REFUSED_HEADER } from "../shared/http.js";
import { isLoopback, isTenantTemplate } from "../shared/urls.js";
import { chooseClientAuthMethod, clientAuthentication } from "./clientAuth.js";
import { secondsOf } from "./createToken.js";
import { resolveDebug, type DebugOption } from "./debug.js";
import { discover } from "./discovery.js";
import { createIdpHttp, retryAfterOf } from "./idpHttp.js";
import { createJwksSource, verifyIdToken, type JwksSource } from "./jwks.js";
import { deriveKey, open, openJson, readCookie, seal, sealJson, serializeCookie } from "./sealedCookie.js";

/** Options of {@link createTokenProxy}. */
export interface TokenProxyOptions {
  /**
   * The IdP's issuer. Its discovery document gives the token, revocation and JWKS endpoints
   * (read once, then cached). Either this or `tokenEndpoint` is required.
   */
  issuer?: string | undefined;
  /**
   * The IdP's token endpoint, for servers without discovery (it also overrides a discovered one).
   * With `tokenEndpoint` and `jwksUri` both set, no discovery request is made. ID tokens are
   * verified against `issuer` and the JWKS: without an issuer, an ID token is refused.
   */
  tokenEndpoint?: string | undefined;
  /** The revocation endpoint (RFC 7009), used at logout. @default the discovered one */
  revocationEndpoint?: string | undefined;
  /** Where the ID token's signing keys are. @default the discovered `jwks_uri` */
  jwksUri?: string | undefined;
  /** The client ID; the only one this proxy speaks for. */
  clientId: string;
  /** The client secret. Omit for a public client (the proxy then only holds the refresh token). */
  clientSecret?: string | undefined;
  /**
   * How the secret is sent to the IdP. Basic credentials leave the unreserved characters
   * (`A–Z a–z 0–9 - . _ ~`) as they are and percent-encode the rest, which servers that decode
   * and servers that do not both accept.
   * @default "client_secret_post" when discovery lists it and not "client_secret_basic"; else "client_secret_basic"
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
   */
  clientAuthentication?: "client_secret_basic" | "client_secret_post" | undefined;
  /** Exact origins of the apps allowed to call the proxy, e.g. `["https://app.example.com"]`. Never `*`. */
  allowedOrigins: readonly string[];
  /** Exact redirect URIs the code exchange may name. */
  redirectUris: readonly string[];
  /**
   * `"cookie"`: the refresh token never reaches JavaScript; the proxy keeps it in an encrypted
   * HttpOnly cookie. `"passthrough"`: the browser receives and sends it.
   * @default "cookie"
   */
  refreshToken?: "cookie" | "passthrough" | undefined;
  /** The proxy's cookies: the login transactions (every mode) and the refresh token (cookie mode). */
  cookie?: {
    /**
     * Encryption secrets of at least 32 characters: the first seals, all open, so a new one can be
     * added first and old ones retired later. Required in every mode: the login transactions, which
     * bind each login to the browser that started it, are sealed with them too.
     */
    secrets: readonly string[];
    /** @default "react-sso-rt" (`__Host-react-sso-rt` over https) */
    name?: string | undefined;
    /**
     * Upper bound of the cookie's lifetime, in seconds; set it no longer than the IdP's refresh
     * token lifetime. Shortened automatically when the IdP states an earlier expiry.
     * @default 604800 (7 days)
     */
    maxAge?: number | undefined;
  } | undefined;
  /**
   * Timeout of each request to the IdP, in milliseconds. Keep it below the browser's `timeoutMs`
   * (10 s), so that the proxy answers (and sets a rotated cookie) before the browser gives up.
   * @default 8000
   */
  timeoutMs?: number | undefined;
  /** Largest accepted request body, in bytes. @default 8192 */
  maxBodyBytes?: number | undefined;
  /**
   * Microsoft Entra ID's multi-tenant endpoints (`issuer` `…/common/v2.0` or `…/organizations/v2.0`),
   * whose discovery names the issuer `https://login.microsoftonline.com/{tenantid}/v2.0`: that
   * template is accepted, and every ID token's `iss` must be it with the token's own `tid`.
   * @default false
   */
  entraMultiTenant?: boolean | undefined;
  /** The `fetch` used to reach the IdP. @default globalThis.fetch */
  fetch?: typeof fetch | undefined;
  /**
   * One line per request to the IdP (method, endpoint, status, milliseconds; never a token, a
   * secret or a code): a function that receives it, or `true` for stderr. The environment
   * variable `DEBUG=react-sso` turns on the same lines.
   * @default off, unless DEBUG names react-sso
   */
  debug?: DebugOption | undefined;
}

/** A Web-standard request handler: usable as-is in Hono, Next.js route handlers, workers, Bun and Deno. */
export type TokenProxy = (request: Request) => Promise<Response>;

/** A request that ran out of time: the runtime's TimeoutError, or the network AuthError it became. */
const timedOut = (err: unknown): boolean => {
  const e = err as { name?: unknown; cause?: { name?: unknown } } | null;
  return e?.name === "TimeoutError" || (err instanceof AuthError && err.code === AuthErrorCode.Network && e?.cause?.name === "TimeoutError");
};

/** Seconds of clock skew allowed on an ID token's exp and iat, as createOAuthClient's default. */
const ID_TOKEN_CLOCK_TOLERANCE = 5;

/** RFC 6749 §5.2 codes that fault the request, not the grant: a refresh refused with one of them leaves the refresh token alive. */
const REQUEST_ERRORS = new Set(["invalid_request", "invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "temporarily_unavailable", "slow_down"]);

const SECRET_PARAMS = ["client_secret", "client_assertion", "client_assertion_type"];
// A Map, not an object literal: "constructor" or "__proto__" must not pass for a grant type.
const ALLOWED_PARAMS = new Map<string, readonly string[]>([
  // No code_verifier: the proxy holds it, in the login transaction it made (refused with its own message below).
  ["authorization_code", ["grant_type", "client_id", "code", "redirect_uri", "state", "code_verifier"]],
  ["refresh_token", ["grant_type", "client_id", "scope", "refresh_token"]],
  ["login", ["action", "client_id", "redirect_uri"]],
  ["logout", ["action", "client_id", "token", "token_type_hint"]],
]);

/** A login the proxy started for the browser: state, nonce, PKCE verifier, redirect URI, and when (epoch seconds). */
interface LoginTransaction {
  s: string;
  n: string;
  v: string;
  r: string;
  t: number;
}
/** A login must come back within 15 minutes; a few may be under way at once (two tabs signing in). */
const LOGIN_MAX_AGE = 15 * 60;
const LOGINS_KEPT = 4;

function configError(field: string, expected: string): never {
  throw new TypeError(`react-sso-kit/server createTokenProxy: "${field}" ${expected}.`);
}

const OPTIONS = "issuer tokenEndpoint revocationEndpoint jwksUri clientId clientSecret clientAuthentication allowedOrigins redirectUris refreshToken cookie timeoutMs maxBodyBytes entraMultiTenant fetch debug".split(" ");
const COOKIE_OPTIONS = ["secrets", "name", "maxAge"];

/** A misspelt option would silently fall back to its default (a wrong cookie lifetime, say): refuse it, with the likely fix. */
function refuseUnknown(value: object, known: readonly string[], prefix = ""): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = didYouMean(key, known);
    configError(`${prefix}${key.slice(0, 40)}`, `is not an option${near ? ` (did you mean "${prefix}${near}"?)` : ""}`);
  }
}

function checkUrl(field: string, value: unknown): URL {
  let url: URL | undefined;
  try {
    url = typeof value === "string" ? new URL(value) : undefined;
  } catch {
    // reported below
  }
  if (!url || !(url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname)))) {
    return configError(field, "must be an https URL (http only for localhost)");
  }
  return url;
}

interface Upstream {
  as: oauth.AuthorizationServer;
  jwks: JwksSource | undefined;
  /** How the client authenticates: configured, or chosen from what discovery lists. */
  auth: oauth.ClientAuth;
  /** The `iss` an ID token must carry: the configured or discovered issuer, never a guess. */
  issuer: string | undefined;
}

/**
 * Every error answer of the proxy, thrown and turned into a response in one place. A 4xx is the
 * proxy's own refusal (marked with REFUSED_HEADER) unless `refused` says otherwise; a 5xx says the
 * IdP failed. `cookies` are set even so (a rotated cookie must outlive a failure after it).
 */
class Rejection extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly extra: { headers?: Record<string, string>; cookies?: string[]; refused?: boolean } = {},
  ) {
    super(description);
  }
}

/**
 * The backend half of react-sso: exchanges codes and refreshes tokens for the browser, adding
 * the client secret, so the secret never reaches it. With the default cookie mode the refresh
 * token never reaches JavaScript either.
 *
 * It speaks only `authorization_code` and `refresh_token` (plus `action=logout`), to the one
 * configured IdP, for allowed Origins carrying the `X-React-SSO` header, for allowlisted redirect
 * URIs, with small form bodies. Everything else gets an RFC 6749-shaped error and causes no
 * request to the IdP.
 */
export function createTokenProxy(options: TokenProxyOptions): TokenProxy {
  if (typeof options !== "object" || options === null) configError("options", "must be an object");
  refuseUnknown(options, OPTIONS);
  if (typeof options.cookie === "object" && options.cookie !== null) refuseUnknown(options.cookie, COOKIE_OPTIONS, "cookie.");
  if (!options.issuer && !options.tokenEndpoint) configError("issuer", 'or "tokenEndpoint" is required');
  const issuerUrl = options.issuer === undefined ? undefined : checkUrl("issuer", options.issuer);
  const wellKnown = options.issuer?.indexOf("/.well-known/") ?? -1;
  if (wellKnown > 0) configError("issuer", `must be the issuer, not its discovery document: use "${options.issuer?.slice(0, wellKnown)}"`);
  for (const field of ["tokenEndpoint", "revocationEndpoint", "jwksUri"] as const) {
    if (options[field] !== undefined) checkUrl(field, options[field]);
  }
  if (typeof options.clientId !== "string" || options.clientId === "") configError("clientId", "is required");
  if (options.clientSecret !== undefined && (typeof options.clientSecret !== "string" || options.clientSecret === "")) {
    configError("clientSecret", "must be a non-empty string (or omitted for a public client)");
  }
  const auth = options.clientAuthentication;
  if (auth !== undefined && auth !== "client_secret_basic" && auth !== "client_secret_post") {
    configError("clientAuthentication", 'must be "client_secret_basic" or "client_secret_post"');
  }
  if (!Array.isArray(options.allowedOrigins) || options.allowedOrigins.length === 0) {
    configError("allowedOrigins", 'must list the app origins, e.g. ["https://app.example.com"]');
  }
  for (const origin of options.allowedOrigins) {
    if (checkUrl("allowedOrigins", origin).origin !== origin) {
      configError("allowedOrigins", `must hold bare origins like "https://app.example.com" (got ${JSON.stringify(origin)})`);
    }
  }
  if (!Array.isArray(options.redirectUris) || options.redirectUris.length === 0) {
    configError("redirectUris", "must list the app's redirect URIs");
  }
  for (const uri of options.redirectUris) checkUrl("redirectUris", uri);
  const mode = options.refreshToken ?? "cookie";
  if (mode !== "cookie" && mode !== "passthrough") configError("refreshToken", 'must be "cookie" or "passthrough"');
  const secrets = options.cookie?.secrets ?? [];
  if (!Array.isArray(secrets) || secrets.length === 0 || secrets.some((s) => typeof s !== "string" || s.length < 32)) {
    configError("cookie.secrets", "must hold at least one secret of 32 or more characters (the proxy seals the login transactions and, in cookie mode, the refresh token with it)");
  }
  if (options.entraMultiTenant !== undefined && typeof options.entraMultiTenant !== "boolean") configError("entraMultiTenant", "must be true or false");
  const maxAge = options.cookie?.maxAge ?? 7 * 24 * 3600;
  const timeoutMs = options.timeoutMs ?? 8000;
  const maxBodyBytes = options.maxBodyBytes ?? 8192;
  // Whole numbers that timers and Max-Age accept (AbortSignal.timeout takes at most 2^31 - 1 ms).
  for (const [field, value] of [["cookie.maxAge", maxAge], ["timeoutMs", timeoutMs], ["maxBodyBytes", maxBodyBytes]] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1) configError(field, "must be a whole number between 1 and 2147483647");
  }

  const clientId = options.clientId;
  const client: oauth.Client = { client_id: clientId };
  const origins = new Set(options.allowedOrigins);
  const redirectUris = new Set(options.redirectUris);
  // Every request to the IdP: our fetch, traced, with a timeout. Every URL it is given passed checkUrl
  // (configured) or the discovery checks (discovered): https, or http on loopback hosts only.
  const http = createIdpHttp(options.fetch, timeoutMs, resolveDebug(options.debug));
  const keys = Promise.all(secrets.map((secret) => deriveKey(secret)));
  const loginKeys = Promise.all(secrets.map((secret) => deriveKey(secret, "login")));
  /** The issuer's metadata, its failures as the proxy's 502 (504 when it timed out), naming the URL tried. */
  async function discoverUpstream(issuer: string): Promise<oauth.AuthorizationServer> {
    try {
      return await discover(issuer, http, { entraMultiTenant: options.entraMultiTenant === true });
    } catch (err) {
      const error = err instanceof AuthError ? err : new AuthError(AuthErrorCode.InvalidResponse, "The identity provider's discovery document could not be read.");
      throw new Rejection(timedOut(error) ? 504 : 502, error.transient ? "temporarily_unavailable" : "server_error", error.message);
    }
  }

  let upstream: Promise<Upstream> | undefined;
  function loadUpstream(): Promise<Upstream> {
    upstream ??= (async () => {
      // oauth4webapi wants an issuer even when only the token endpoint is known; that stand-in is
      // never used to check an ID token (see checkIdToken).
      let as: oauth.AuthorizationServer = { issuer: options.issuer ?? new URL(options.tokenEndpoint as string).origin };
      // Discovery only fills in what is not configured: with tokenEndpoint and jwksUri given, none is made.
      if (issuerUrl && (!options.tokenEndpoint || !options.jwksUri)) as = await discoverUpstream(options.issuer as string);
      as = {
        ...as,
        token_endpoint: options.tokenEndpoint ?? as.token_endpoint,
        revocation_endpoint: options.revocationEndpoint ?? as.revocation_endpoint,
        jwks_uri: options.jwksUri ?? as.jwks_uri,
      } as oauth.AuthorizationServer;
      if (!as.token_endpoint) throw new Rejection(502, "server_error", "The identity provider advertises no token endpoint.");
      // The client secret goes to these: a discovery document gets the same https rule as the options.
      for (const endpoint of [as.token_endpoint, as.revocation_endpoint, as.jwks_uri]) {
        try {
          if (endpoint !== undefined) checkUrl("discovered endpoint", endpoint);
        } catch {
          throw new Rejection(502, "server_error", "The identity provider advertises an endpoint that is not https.");
        }
      }
      // Keys are cached; an unknown kid (a rotation) refetches at once, and only repeated unknown kids are throttled.
      const jwks = as.jwks_uri ? createJwksSource({ uri: as.jwks_uri, fetch: http.fetch, timeoutMs }) : undefined;
      const method = chooseClientAuthMethod(as.token_endpoint_auth_methods_supported, options.clientSecret !== undefined, auth);
      return { as, jwks, issuer: options.issuer === undefined ? undefined : as.issuer, auth: clientAuthentication(method, options.clientSecret) };
    })();
    // An IdP that is down now may be up for the next request.
    upstream.catch(() => {
      upstream = undefined;
    });
    return upstream;
  }

  const baseName = (options.cookie?.name ?? "react-sso-rt").replace(/^__Host-/, "");
  if (!/^[\w!#$%&'*+.^`|~-]+$/.test(baseName)) configError("cookie.name", "must be a cookie name token (RFC 6265)");

  /** `__Host-` (with Secure) over https; browsers refuse that prefix on plain http, where it is left out. */
  function cookieAttributes(origin: string, lifetime: number, name = baseName) {
    const secure = origin.startsWith("https:");
    return { name: secure ? `__Host-${name}` : name, secure, maxAge: lifetime };
  }
  const loginCookieName = `${baseName}-login`;

  /** The login transactions in the request's cookie that have not expired. */
  async function loginsIn(request: Request, origin: string): Promise<LoginTransaction[]> {
    const sealed = readCookie(request.headers.get("cookie"), cookieAttributes(origin, 0, loginCookieName).name);
    const value = sealed ? await openJson(sealed, await loginKeys, clientId) : undefined;
    const now = Math.floor(Date.now() / 1000);
    return (Array.isArray(value) ? (value as LoginTransaction[]) : []).filter((tx) => typeof tx?.s === "string" && now - tx.t < LOGIN_MAX_AGE);
  }

  async function loginCookie(logins: LoginTransaction[], origin: string): Promise<string> {
    if (logins.length === 0) return serializeCookie("", cookieAttributes(origin, 0, loginCookieName));
    return serializeCookie(await sealJson(logins, (await loginKeys)[0] as CryptoKey, clientId, LOGIN_MAX_AGE), cookieAttributes(origin, LOGIN_MAX_AGE, loginCookieName));
  }

  async function readForm(request: Request): Promise<URLSearchParams> {
    const type = (request.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded") {
      throw new Rejection(415, "invalid_request", "The body must be application/x-www-form-urlencoded.");
    }
    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > maxBodyBytes) throw new Rejection(413, "invalid_request", `The body is larger than ${maxBodyBytes} bytes.`);
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = request.body?.getReader();
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBodyBytes) {
        await reader.cancel();
        throw new Rejection(413, "invalid_request", `The body is larger than ${maxBodyBytes} bytes.`);
      }
      chunks.push(value);
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new Rejection(400, "invalid_request", "The body is not valid UTF-8.");
    }
    const form = new URLSearchParams(text);
    const seen = new Set<string>();
    for (const [name, value] of form) {
      if (seen.has(name)) throw new Rejection(400, "invalid_request", `The parameter "${name}" is repeated.`);
      // Percent-encoded bytes that are not UTF-8 decode to U+FFFD: refused like raw ones.
      if ((name + value).includes("\uFFFD")) throw new Rejection(400, "invalid_request", "The body is not valid UTF-8.");
      seen.add(name);
    }
    return form;
  }

  function checkParams(form: URLSearchParams, kind: string): void {
    for (const name of form.keys()) {
      if (SECRET_PARAMS.includes(name)) {
        throw new Rejection(400, "invalid_request", `"${name}" must not come from the browser: the proxy authenticates the client itself.`);
      }
      if (!ALLOWED_PARAMS.get(kind)?.includes(name)) throw new Rejection(400, "invalid_request", `The parameter "${name}" is not accepted here.`);
    }
    const sentClientId = form.get("client_id");
    if (sentClientId !== null && sentClientId !== clientId) throw new Rejection(401, "invalid_client", "This proxy serves another client_id.");
  }

  /** Relays an IdP answer, keeping its meaning: 4xx stays that 4xx (final), anything broken becomes 502/504 (transient). */
  async function relay(response: Response): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, string> }> {
    const text = await response.text().catch(() => "");
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const body = typeof json === "object" && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
    const retryAfter = response.headers.get("retry-after");
    // GitHub answers a refused grant with 200 and an error body: a final refusal, relayed as one.
    const refusedWith200 = response.ok && typeof body?.error === "string" && body.access_token === undefined;
    const status = refusedWith200 ? 400 : response.status;
    if (status >= 200 && status < 300) {
      if (!body || typeof body.access_token !== "string") {
        throw new Rejection(502, "server_error", "The identity provider returned an invalid token response.");
      }
      // Older Microsoft and ADFS endpoints send expires_in as a string ("3600"). RFC 6749 §5.1 wants a
      // number: a numeric string becomes one, anything else counts as absent (never NaN).
      if (body.expires_in !== undefined && typeof body.expires_in !== "number") {
        const seconds = secondsOf(body.expires_in);
        if (seconds === undefined) delete body.expires_in;
        else body.expires_in = seconds;
      }
      return { status: 200, body, headers: {} };
    }
    if (status >= 400 && status < 500) {
      const headers: Record<string, string> = retryAfter ? { "Retry-After": retryAfter } : {};
      // RFC 6749 §5.2 character sets; anything else is not relayed into the browser.
      if (body && typeof body.error === "string" && /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,100}$/.test(body.error)) {
        const description = typeof body.error_description === "string" ? body.error_description.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, " ").slice(0, 300) : undefined;
        return { status, body: { error: body.error, error_description: description }, headers };
      }
      return {
        status,
        body: {
          error: response.status === 401 ? "invalid_client" : "invalid_request",
          error_description: `The identity provider answered HTTP ${response.status} without an OAuth error body.`,
        },
        headers,
      };
    }
    throw new Rejection(
      502,
      "temporarily_unavailable",
      `The identity provider answered HTTP ${response.status}; try again later.`,
      retryAfter ? { headers: { "Retry-After": retryAfter } } : {},
    );
  }

  async function callIdp<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (err instanceof Rejection) throw err;
      const late = timedOut(err);
      throw new Rejection(
        late ? 504 : 502,
        "temporarily_unavailable",
        late ? "The identity provider did not answer in time." : "The identity provider could not be reached.",
      );
    }
  }

  /** Verifies an ID token before any cookie is set: signature, iss, aud, azp, exp, and the nonce of the login it ends. */
  async function checkIdToken(idToken: string, up: Upstream, nonce: string | undefined): Promise<void> {
    try {
      if (!up.issuer) throw new Error("set issuer and jwksUri to verify ID tokens");
      const template = options.entraMultiTenant === true && isTenantTemplate(up.issuer, options.issuer as string);
      const payload = await verifyIdToken(idToken, { issuer: template ? undefined : up.issuer, clientId, clockTolerance: ID_TOKEN_CLOCK_TOLERANCE, jwks: up.jwks, clientSecret: options.clientSecret });
      // The nonce the proxy sent for this login (OIDC Core §3.1.3.7 step 11); the browser never knew it alone.
      if (nonce !== undefined && payload.nonce !== nonce) throw new Error("nonce");
      // Entra multi-tenant: the issuer is the template with the token's own tenant.
      if (template && (typeof payload.tid !== "string" || payload.iss !== up.issuer.replace("{tenantid}", payload.tid))) throw new Error("iss");
    } catch (err) {
      // The IdP's keys could not be fetched: nothing is known of the token yet, and a retry may do.
      if (err instanceof AuthError) {
        throw new Rejection(timedOut(err) ? 504 : 502, err.transient ? "temporarily_unavailable" : "server_error", "The identity provider's keys (JWKS) could not be fetched to verify its ID token.");
      }
      throw new Rejection(502, "server_error", "The identity provider returned an ID token that failed verification.");
    }
  }

  /**
   * RFC 7009 revocation, retried while the IdP fails transiently (5xx, 408, 429, network), honouring
   * a short Retry-After, all within `timeoutMs`. True once the IdP confirmed it.
   */
  async function revoke(up: Upstream, token: string): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      let wait = 250 * 2 ** attempt;
      try {
        const response = await oauth.revocationRequest(up.as, client, up.auth, token, {
          ...http.options(),
          signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
          additionalParameters: { token_type_hint: "refresh_token" },
        });
        await response.body?.cancel();
        if (response.ok) return true;
        if (response.status < 500 && response.status !== 408 && response.status !== 429) return false;
        wait = Math.max(wait, (retryAfterOf(response) ?? 0) * 1000);
      } catch {
        // Unreachable or too slow: worth another try while there is time.
      }
      if (Date.now() + wait >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** The cookie lifetime: the configured bound, shortened to the refresh token's own expiry when the IdP states one. */
  function lifetime(body: Record<string, unknown>, refreshToken: string): number {
    let seconds = maxAge;
    const stated = Number(body.refresh_expires_in);
    if (stated > 0) seconds = Math.min(seconds, stated);
    // A JWT refresh token states its own expiry; an opaque one (most) is not decoded at all, which
    // would throw and be caught on every refresh.
    if (/^[\w-]+\.[\w-]+\.[\w-]*$/.test(refreshToken)) {
      try {
        const { exp } = decodeJwt(refreshToken);
        if (typeof exp === "number") seconds = Math.min(seconds, exp - Math.floor(Date.now() / 1000));
      } catch {
        // Three parts, but not a JWT after all.
      }
    }
    return seconds;
  }

  async function handle(request: Request, origin: string): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, string>; cookies: string[] }> {
    const form = await readForm(request);
    const action = form.get("action");
    const grantType = form.get("grant_type");
    const kind = (action === "logout" || action === "login") && grantType === null ? action : grantType ?? "";
    if (!ALLOWED_PARAMS.has(kind)) {
      throw new Rejection(400, "unsupported_grant_type", 'Only grant_type "authorization_code" and "refresh_token" (and action "login" and "logout") are accepted.');
    }
    checkParams(form, kind);
    const sealed = readCookie(request.headers.get("cookie"), cookieAttributes(origin, 0).name);
    const clearCookie = serializeCookie("", cookieAttributes(origin, 0));

    if (kind === "logout") {
      const token = mode === "cookie" ? sealed && (await open(sealed, await keys, clientId)) : form.get("token");
      const cookies = mode === "cookie" ? [clearCookie] : [];
      const up = token ? await loadUpstream().catch(() => undefined) : undefined;
      // The cookie is cleared whatever the IdP says; but a revocation that failed is said so, since a
      // copy of the refresh token would still work.
      if (token && up?.as.revocation_endpoint && !(await revoke(up, token))) {
        throw new Rejection(502, "temporarily_unavailable", "The refresh token could not be revoked at the identity provider; it was cleared here.", { cookies });
      }
      return { status: 200, body: {}, headers: {}, cookies };
    }

    const redirectUri = form.get("redirect_uri");
    if (kind !== "refresh_token" && (!redirectUri || !redirectUris.has(redirectUri))) {
      throw new Rejection(400, "invalid_request", "redirect_uri is missing or not one of the proxy's redirectUris.");
    }
    if (kind === "login") {
      // The login transaction is made here and kept in an HttpOnly cookie: the browser never holds the
      // verifier, so a code (and what page script can read) is worth nothing outside this browser.
      const verifier = oauth.generateRandomCodeVerifier();
      const tx: LoginTransaction = { s: oauth.generateRandomState(), n: oauth.generateRandomNonce(), v: verifier, r: redirectUri as string, t: Math.floor(Date.now() / 1000) };
      const logins = [...(await loginsIn(request, origin)).slice(1 - LOGINS_KEPT), tx];
      return {
        status: 200,
        body: { state: tx.s, nonce: tx.n, code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256" },
        headers: {},
        cookies: [await loginCookie(logins, origin)],
      };
    }

    // Everything that can be refused here is refused before the IdP is asked anything.
    const params = new URLSearchParams();
    let login: LoginTransaction | undefined;
    let logins: LoginTransaction[] = [];
    if (kind === "authorization_code") {
      if (form.has("code_verifier")) throw new Rejection(400, "invalid_request", "code_verifier must not come from the browser: the proxy holds the PKCE verifier of the login it started.");
      const code = form.get("code");
      const state = form.get("state");
      if (!code || !state) throw new Rejection(400, "invalid_request", "code and state are required.");
      logins = await loginsIn(request, origin);
      login = logins.find((tx) => tx.s === state && tx.r === redirectUri);
      // A code from anywhere else (another browser, a login page script started) meets no transaction here.
      if (!login) throw new Rejection(400, "invalid_grant", "No login started in this browser matches this state: sign in again.");
      params.set("code", code);
      params.set("redirect_uri", redirectUri as string);
      params.set("code_verifier", login.v);
    } else {
      let refreshToken = form.get("refresh_token");
      if (mode === "cookie") {
        if (refreshToken !== null) throw new Rejection(400, "invalid_request", "In cookie mode the refresh token stays in its cookie; do not send it.");
        refreshToken = sealed ? ((await open(sealed, await keys, clientId)) ?? null) : null;
        // The grant is gone, as an IdP would say it: the browser ends its session (not a refusal of the proxy's).
        if (!refreshToken) throw new Rejection(400, "invalid_grant", "There is no session to refresh: sign in again.", { cookies: sealed ? [clearCookie] : [], refused: false });
      }
      if (!refreshToken) throw new Rejection(400, "invalid_request", "refresh_token is required.");
      params.set("refresh_token", refreshToken);
      const scope = form.get("scope");
      if (scope) params.set("scope", scope);
    }
    const up = await callIdp(loadUpstream);

    const answer = await callIdp(async () =>
      relay(await oauth.genericTokenEndpointRequest(up.as, client, up.auth, kind, params, http.options())),
    );
    // One attempt per login, whatever the IdP answers: its transaction goes.
    const cookies: string[] = login ? [await loginCookie(logins.filter((tx) => tx !== login), origin)] : [];
    if (answer.status !== 200) {
      // The refresh token is dead at the IdP (invalid_grant, or a code of the IdP's own such as
      // GitHub's bad_refresh_token): the cookie holding it goes too. RFC 6749's codes about the
      // request itself (a scope not granted, a client problem) leave it.
      if (mode === "cookie" && kind === "refresh_token" && !REQUEST_ERRORS.has(String(answer.body.error))) cookies.push(clearCookie);
      return { ...answer, cookies };
    }
    const rotated = answer.body.refresh_token;
    // Only the fields of RFC 6749 §5.1 and OpenID Connect reach the browser, whatever else the IdP adds.
    const body: Record<string, unknown> = {};
    for (const field of ["access_token", "token_type", "expires_in", "scope", "id_token", ...(mode === "passthrough" ? ["refresh_token"] : [])]) {
      if (answer.body[field] !== undefined) body[field] = answer.body[field];
    }
    if (mode === "cookie") {
      // A refresh that rotated nothing leaves the refresh token in the cookie it came from.
      let held = kind === "refresh_token";
      if (typeof rotated === "string" && rotated !== "") {
        // Sealed before anything else can fail: the IdP has already retired the previous refresh token.
        const seconds = lifetime(answer.body, rotated);
        cookies.push(serializeCookie(await seal(rotated, (await keys)[0] as CryptoKey, clientId, seconds), cookieAttributes(origin, seconds)));
        held = true;
      } else if (kind === "authorization_code" && sealed) {
        // A new sign-in without a refresh token must not leave the previous session's behind.
        cookies.push(clearCookie);
      }
      // Tells the browser that refreshing through the proxy will work.
      if (held) body.refresh_token_in_cookie = true;
    }
    const idToken = body.id_token;
    if (typeof idToken === "string") {
      try {
        await checkIdToken(idToken, up, login?.n);
      } catch (err) {
        // A refresh keeps the rotated cookie even so (the IdP retired the old refresh token, and the
        // next attempt needs the new one); a failed sign-in leaves nothing behind.
        if (err instanceof Rejection) throw new Rejection(err.status, err.error, err.description, { cookies: kind === "refresh_token" ? cookies : cookies.slice(0, 1) });
        throw err;
      }
    }
    return { ...answer, body, cookies };
  }

  return async function tokenProxy(request: Request): Promise<Response> {
    const origin = request.headers.get("origin");
    const allowed = origin !== null && origins.has(origin);
    const cors: Record<string, string> = allowed
      ? { "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true", "Access-Control-Expose-Headers": `Retry-After, ${REFUSED_HEADER}`, Vary: "Origin" }
      : { Vary: "Origin" };
    const json = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}, cookies: string[] = []) => {
      const h = new Headers({ "Content-Type": "application/json", "Cache-Control": "no-store", Pragma: "no-cache", ...cors, ...headers });
      for (const cookie of cookies) h.append("Set-Cookie", cookie);
      return new Response(JSON.stringify(body), { status, headers: h });
    };
    const reject = ({ status, error, description, extra }: Rejection) =>
      json(status, { error, error_description: description }, { ...extra.headers, ...((extra.refused ?? status < 500) && { [REFUSED_HEADER]: "1" }) }, extra.cookies);

    if (request.method === "OPTIONS") {
      const requested = (request.headers.get("access-control-request-headers") ?? "")
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean);
      if (!allowed || request.headers.get("access-control-request-method") !== "POST" || requested.some((h) => h !== "content-type" && h !== PROXY_HEADER)) {
        return new Response(null, { status: 403, headers: { Vary: "Origin" } });
      }
      return new Response(null, {
        status: 204,
        headers: { ...cors, "Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": `Content-Type, ${PROXY_HEADER}`, "Access-Control-Max-Age": "600" },
      });
    }
    if (request.method !== "POST") return reject(new Rejection(405, "invalid_request", "Only POST is accepted.", { headers: { Allow: "POST, OPTIONS" } }));
    if (!allowed) return reject(new Rejection(403, "access_denied", "This Origin is not allowed to use the token proxy."));
    if (request.headers.get(PROXY_HEADER) !== "1") {
      return reject(new Rejection(403, "access_denied", `The ${PROXY_HEADER} header is missing: requests must come from the react-sso client.`));
    }
    try {
      const result = await handle(request, origin);
      return json(result.status, result.body, result.headers, result.cookies);
    } catch (err) {
      // Anything unexpected says nothing about its cause: it could hold a token or the secret.
      return reject(err instanceof Rejection ? err : new Rejection(502, "server_error", "The token proxy failed to reach the identity provider."));
    }
  };
}
