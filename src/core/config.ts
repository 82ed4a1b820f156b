import { AuthError, AuthErrorCode } from "../shared/AuthError.js";
import { didYouMean } from "../shared/didYouMean.js";
import { isLoopback, MAX_TIMER_MS } from "../shared/urls.js";

/** A Storage-like object: `sessionStorage`, `localStorage`, or your own (e.g. an encrypted store). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Where the session (tokens and claims) is kept.
 * - `"memory"`: this page only; gone on reload.
 * - `"session"`: sessionStorage; survives reloads, private to the tab.
 * - `"local"`: localStorage; survives restarts, shared by the origin's tabs.
 * - a {@link StorageLike} object.
 */
export type StorageOption = "memory" | "session" | "local" | StorageLike;

/** Explicit endpoints, for OAuth 2.0 servers without a discovery document. */
export interface AuthEndpoints {
  /** Authorization endpoint. @see https://www.rfc-editor.org/rfc/rfc6749#section-3.1 */
  authorization: string;
  /** Token endpoint; not needed when `tokenProxy` is set. @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2 */
  token?: string | undefined;
  /** RP-initiated logout endpoint. @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html */
  endSession?: string | undefined;
  /** Token revocation endpoint. @see https://www.rfc-editor.org/rfc/rfc7009 */
  revocation?: string | undefined;
}

/** Configuration of {@link createAuthClient}. Every URL must be absolute, except `tokenProxy`. */
export interface AuthConfig {
  /**
   * The IdP's issuer identifier, e.g. `https://sso.example.com`. Discovery is read from
   * `<authority>/.well-known/openid-configuration` unless `endpoints` is given, and the document's
   * `issuer` must equal it exactly.
   * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
   */
  authority: string;
  /** The client ID registered at the IdP. */
  clientId: string;
  /** Where the IdP sends the browser back; the page that renders `<Callback>`. Must be registered at the IdP. */
  redirectUri: string;
  /**
   * Scopes to request, as a space-separated string or an array. Without `openid` the server is
   * treated as plain OAuth 2.0: no ID token is expected.
   * @default "openid"
   */
  scope?: string | readonly string[] | undefined;
  /**
   * URL of your backend token route (`react-sso-kit/server`). The code exchange and refreshes are
   * sent there, never to the IdP's token endpoint, so the client secret stays on the server; in
   * the proxy's cookie mode the refresh token never reaches JavaScript either. May be relative
   * to the page's origin, e.g. `"/auth/token"`.
   */
  tokenProxy?: string | undefined;
  /** Explicit endpoints for servers with no discovery document; then no discovery request is made. */
  endpoints?: AuthEndpoints | undefined;
  /**
   * Where the session is kept; see {@link StorageOption}. The login transaction (state, nonce,
   * PKCE verifier) always lives in sessionStorage because it must survive the redirect.
   * With `tokenProxy` the default is `"memory"`: the proxy's cookie restores the session on
   * reload with one request, so no token is ever written to web storage.
   * @default "session", or "memory" with tokenProxy
   */
  storage?: StorageOption | undefined;
  /** Where the IdP sends the browser after logout. Must be registered at the IdP. */
  postLogoutRedirectUri?: string | undefined;
  /**
   * Extra parameters for the authorization request, e.g. `{ audience: "api", prompt: "login" }`.
   * The protocol parameters that react-sso sets itself cannot be overridden here.
   */
  extraAuthorizeParams?: Readonly<Record<string, string>> | undefined;
  /**
   * Extra parameters for the IdP's end-session URL, e.g. Amazon Cognito's
   * `{ logout_uri: "https://app.example.com/" }`, or `state`. The ones react-sso sets
   * (`id_token_hint`, `client_id`, `post_logout_redirect_uri`: use `postLogoutRedirectUri`) cannot
   * be set here.
   */
  extraLogoutParams?: Readonly<Record<string, string>> | undefined;
  /**
   * How the response parameters come back: in the query (`"query"`) or in the fragment
   * (`"fragment"`, which keeps the code out of server logs).
   * @default "query"
   * @see https://openid.net/specs/oauth-v2-multiple-response-types-1_0.html#ResponseModes
   */
  responseMode?: "query" | "fragment" | undefined;
  /**
   * Timeout for each request to the IdP or the token proxy, in milliseconds.
   * @default 10000
   */
  timeoutMs?: number | undefined;
  /**
   * Microsoft Entra ID's multi-tenant endpoints (`…/common/v2.0`, `…/organizations/v2.0`): their
   * discovery document names the issuer `https://login.microsoftonline.com/{tenantid}/v2.0`. With
   * this set, that template is accepted for such an `authority`, and every ID token's `iss` must be
   * the template with the token's own `tid`. Off by default: no other IdP needs it.
   * @default false
   * @see https://learn.microsoft.com/entra/identity-platform/howto-convert-app-to-be-multi-tenant
   */
  entraMultiTenant?: boolean | undefined;
  /** The `fetch` used for token requests. @default globalThis.fetch */
  fetch?: typeof fetch | undefined;
  /**
   * Opens the IdP's login and logout pages. Override for tests or for native shells (Capacitor,
   * Electron). @default (url) => window.location.assign(url)
   */
  openUrl?: ((url: string) => void) | undefined;
}

/** The validated configuration, with defaults applied. */
export interface ResolvedConfig {
  authority: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  openid: boolean;
  tokenProxy: string | undefined;
  endpoints: AuthEndpoints | undefined;
  storage: StorageOption;
  postLogoutRedirectUri: string | undefined;
  extraAuthorizeParams: Readonly<Record<string, string>>;
  extraLogoutParams: Readonly<Record<string, string>>;
  responseMode: "query" | "fragment";
  timeoutMs: number;
  entraMultiTenant: boolean;
  fetch: typeof fetch | undefined;
  openUrl: ((url: string) => void) | undefined;
}

/** Authorization parameters the SDK owns: letting an app set them would silently break PKCE, state or nonce. */
// request and request_uri too: a request object (RFC 9101) would replace all of the others.
const AUTHORIZE_PARAMS = "client_id redirect_uri response_type response_mode scope state nonce code_challenge code_challenge_method request request_uri".split(" ");
/** End-session parameters the SDK sets itself (OpenID Connect RP-Initiated Logout §2); `state`, `ui_locales` and the like are the app's. */
const LOGOUT_PARAMS = ["id_token_hint", "client_id", "post_logout_redirect_uri"];

const FIELDS = new Set(
  "authority clientId redirectUri scope tokenProxy endpoints storage postLogoutRedirectUri extraAuthorizeParams extraLogoutParams responseMode timeoutMs entraMultiTenant fetch openUrl".split(" "),
);
const ENDPOINTS = ["authorization", "token", "endSession", "revocation"] as const;

// Only the type of a non-string (a wrong field could hold an object full of anything), and never
// the user:password of a URL.
const describe = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value.replace(/\/\/[^/@]*@/, "//…@").slice(0, 80)) : value === null ? "null" : typeof value;

/** Throws the `config` error: which field, what it expected and, when it helps, what it got. */
function fail(field: string, expected: string, got?: unknown): never {
  throw new AuthError(
    AuthErrorCode.Config,
    `react-sso config: "${field}" ${expected}${got === undefined ? "" : ` (got ${describe(got)})`}.`,
  );
}

/**
 * An absolute URL without fragment; https, or http on loopback hosts only, because codes and
 * tokens must not cross a network in clear. Redirect URIs may also use a native app's scheme.
 */
function url(field: string, value: unknown, customScheme = false): string {
  let parsed: URL | undefined;
  try {
    parsed = typeof value === "string" ? new URL(value) : undefined;
  } catch {
    // reported below
  }
  if (!parsed) return fail(field, "must be an absolute URL", value);
  const { protocol } = parsed;
  // RFC 8252 §7.1: a native app's private-use scheme is a reverse domain name, which rules out
  // javascript:, data: and file:.
  const nativeScheme = customScheme && protocol.includes(".");
  if (protocol === "http:" ? !isLoopback(parsed.hostname) : protocol !== "https:" && !nativeScheme) {
    fail(field, "must use https (http only for localhost)", value);
  }
  if ((value as string).includes("#")) fail(field, "must not contain a fragment (#…)", value);
  if (parsed.username || parsed.password) fail(field, "must not contain user:password@", value);
  return value as string;
}

function text(field: string, value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") fail(field, "is required: a non-empty string", value);
  return value;
}

function normalizeScope(value: unknown): string {
  if (value === undefined) return "openid";
  const list = typeof value === "string" ? [value] : Array.isArray(value) ? (value as unknown[]) : [];
  if (list.length === 0 || list.some((s) => typeof s !== "string")) {
    fail("scope", "must be a string or an array of strings", value);
  }
  const parts = (list as string[]).flatMap((s) => s.split(" ")).filter(Boolean);
  if (parts.length === 0) fail("scope", "must name at least one scope", value);
  // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
  const bad = parts.find((s) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s));
  if (bad !== undefined) fail("scope", "has a character RFC 6749 does not allow", bad);
  return [...new Set(parts)].join(" ");
}

function isStorage(value: unknown): value is StorageLike {
  const s = value as StorageLike | null;
  return typeof s?.getItem === "function" && typeof s.setItem === "function" && typeof s.removeItem === "function";
}

/** Extra request parameters: strings only, and none of the `reserved` ones, which react-sso sets. */
export function stringRecord(field: string, value: unknown, reserved: readonly string[] = AUTHORIZE_PARAMS): Readonly<Record<string, string>> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(field, "must be an object of strings", value);
  for (const [key, v] of Object.entries(value)) {
    if (reserved.includes(key)) fail(`${field}.${key}`, "is set by react-sso itself and cannot be overridden");
    if (typeof v !== "string") fail(`${field}.${key}`, "must be a string", v);
  }
  return Object.freeze({ ...(value as Record<string, string>) });
}

/**
 * Validates a configuration and applies defaults. Throws {@link AuthError} with code `config`
 * naming the first wrong field and what it expected.
 */
export function resolveConfig(input: AuthConfig): ResolvedConfig {
  if (typeof input !== "object" || input === null) fail("config", "must be an object", input);
  const c = input as unknown as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (FIELDS.has(key)) continue;
    const near = didYouMean(key, FIELDS);
    fail(key.slice(0, 40), `is not a react-sso option${near ? ` (did you mean "${near}"?)` : ""}`);
  }

  const authority = url("authority", text("authority", c.authority));
  // A common paste: the discovery URL instead of the issuer it belongs to.
  const wellKnown = authority.indexOf("/.well-known/");
  if (wellKnown > 0) fail("authority", `must be the issuer, not its discovery document: use "${authority.slice(0, wellKnown)}"`);
  // RFC 8414 §2: an issuer has no query or fragment.
  if (new URL(authority).search) fail("authority", "must not contain a query (?…)", authority);
  const tokenProxy = c.tokenProxy === undefined ? undefined : text("tokenProxy", c.tokenProxy);
  // A path on the app's own origin is the usual proxy; anything else must be a full URL.
  if (tokenProxy !== undefined && !/^\/(?![/\\])[^#]*$/.test(tokenProxy)) url("tokenProxy", tokenProxy);

  let endpoints: AuthEndpoints | undefined;
  if (c.endpoints !== undefined) {
    const e = c.endpoints as Record<string, unknown> | null;
    if (typeof e !== "object" || e === null) fail("endpoints", "must be an object of URLs", e);
    const unknownKey = Object.keys(e).find((k) => !(ENDPOINTS as readonly string[]).includes(k));
    if (unknownKey !== undefined) {
      const near = didYouMean(unknownKey, ENDPOINTS);
      fail(`endpoints.${unknownKey.slice(0, 40)}`, `is not one of ${ENDPOINTS.join(", ")}${near ? ` (did you mean "${near}"?)` : ""}`);
    }
    if (e.token === undefined && tokenProxy === undefined) fail("endpoints.token", "is required without tokenProxy");
    endpoints = { authorization: url("endpoints.authorization", e.authorization) };
    for (const name of ENDPOINTS.slice(1)) {
      if (e[name] !== undefined) endpoints[name] = url(`endpoints.${name}`, e[name]);
    }
  }

  // With a proxy holding the refresh token in its cookie, no token needs to survive a reload in web storage.
  const storage = c.storage ?? (tokenProxy === undefined ? "session" : "memory");
  if (storage !== "memory" && storage !== "session" && storage !== "local" && !isStorage(storage)) {
    fail("storage", 'must be "memory", "session", "local" or a Storage', storage);
  }
  const responseMode = c.responseMode ?? "query";
  if (responseMode !== "query" && responseMode !== "fragment") fail("responseMode", 'must be "query" or "fragment"', responseMode);
  const timeoutMs = c.timeoutMs ?? 10_000;
  // AbortSignal.timeout() takes whole milliseconds, and fires at once beyond a timer's longest delay.
  if (!Number.isInteger(timeoutMs) || (timeoutMs as number) < 1 || (timeoutMs as number) > MAX_TIMER_MS) {
    fail("timeoutMs", "must be a whole number of milliseconds", timeoutMs);
  }
  if (c.entraMultiTenant !== undefined && typeof c.entraMultiTenant !== "boolean") fail("entraMultiTenant", "must be true or false", c.entraMultiTenant);
  for (const fn of ["fetch", "openUrl"]) {
    if (c[fn] !== undefined && typeof c[fn] !== "function") fail(fn, "must be a function", c[fn]);
  }
  const scope = normalizeScope(c.scope);

  return {
    authority,
    clientId: text("clientId", c.clientId),
    redirectUri: url("redirectUri", text("redirectUri", c.redirectUri), true),
    scope,
    openid: scope.split(" ").includes("openid"),
    tokenProxy,
    endpoints,
    storage: storage as StorageOption,
    postLogoutRedirectUri: c.postLogoutRedirectUri === undefined ? undefined : url("postLogoutRedirectUri", c.postLogoutRedirectUri, true),
    extraAuthorizeParams: stringRecord("extraAuthorizeParams", c.extraAuthorizeParams),
    extraLogoutParams: stringRecord("extraLogoutParams", c.extraLogoutParams, LOGOUT_PARAMS),
    responseMode,
    timeoutMs: timeoutMs as number,
    entraMultiTenant: c.entraMultiTenant === true,
    fetch: c.fetch as typeof fetch | undefined,
    openUrl: c.openUrl as ((url: string) => void) | undefined,
  };
}
