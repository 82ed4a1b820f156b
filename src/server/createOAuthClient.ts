import * as oauth from "oauth4webapi";
import { AuthError, AuthErrorCode } from "../shared/AuthError.js";
import { chooseClientAuthMethod, clientAuthentication, encodeBasicCredential } from "./clientAuth.js";
import { tokenSetOf, type TokenInput, type TokenSet } from "./createToken.js";
import { resolveDebug, type DebugOption } from "./debug.js";
import { cachedDiscovery } from "./discovery.js";
import { createIdpHttp, isSafeEndpoint, toAuthError } from "./idpHttp.js";
import { createJwksSource, IdTokenRefused, verifyIdToken, type JwksSource } from "./jwks.js";
import { scopeList, type Scope } from "./scopes.js";

/** Options of {@link createOAuthClient}. */
export interface OAuthClientOptions {
  /**
   * The IdP's issuer, exactly as its discovery document writes it. Without any endpoint option,
   * discovery (OpenID Connect, then RFC 8414, path-insertion form included) gives the endpoints;
   * it is read once, and a failed read is retried on the next call. ID tokens must carry it as `iss`.
   */
  issuer?: string | undefined;
  /** For servers without discovery (with any endpoint option set, none is made). */
  tokenEndpoint?: string | undefined;
  /** For {@link OAuthClient.authorizationUrl} without discovery. */
  authorizationEndpoint?: string | undefined;
  /** For {@link OAuthClient.revoke} without discovery. @see https://www.rfc-editor.org/rfc/rfc7009 */
  revocationEndpoint?: string | undefined;
  /** For {@link OAuthClient.introspect} without discovery. @see https://www.rfc-editor.org/rfc/rfc7662 */
  introspectionEndpoint?: string | undefined;
  /** Where the ID tokens' signing keys are, without discovery. */
  jwksUri?: string | undefined;
  clientId: string;
  /** Omit for a public client. */
  clientSecret?: string | undefined;
  /**
   * How the secret is sent. `client_secret_basic` sends the unreserved characters of the ID and
   * secret as they are and percent-encodes the rest, which servers that decode and servers that
   * do not both read correctly.
   * @default `client_secret_post` when discovery lists it and not `client_secret_basic`, else `client_secret_basic`
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
   */
  clientAuthentication?: "client_secret_basic" | "client_secret_post" | undefined;
  /**
   * Enables {@link OAuthClient.password}. The OAuth 2.0 Security BCP forbids the resource owner
   * password grant; it exists here for migrations only.
   * @default false
   * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.4
   */
  allowPasswordGrant?: boolean | undefined;
  /** Timeout of each request to the IdP, in milliseconds. @default 10000 */
  timeoutMs?: number | undefined;
  /** Clock skew allowed on ID tokens' `exp`, `iat` and `nbf`, in seconds. @default 5 */
  clockTolerance?: number | undefined;
  /** The `fetch` used to reach the IdP. @default globalThis.fetch */
  fetch?: typeof fetch | undefined;
  /** One line per request to the IdP; see {@link DebugOption}. */
  debug?: DebugOption | undefined;
}

/** Parameters of {@link OAuthClient.clientCredentials} (and of {@link OAuthClient.getAccessToken}). */
export interface ClientCredentialsParams {
  scope?: Scope | undefined;
  /** The `audience` parameter some IdPs (Auth0 among them) use to pick the API. */
  audience?: string | undefined;
  /** Resource indicators. @see https://www.rfc-editor.org/rfc/rfc8707 */
  resource?: string | readonly string[] | undefined;
}

/** Parameters of {@link OAuthClient.authorizationUrl}. */
export interface AuthorizationUrlParams {
  redirectUri: string;
  /** An unguessable value, kept by your server until the callback, where it must come back. */
  state: string;
  /** The PKCE S256 challenge of a verifier you keep until the callback. @see https://www.rfc-editor.org/rfc/rfc7636#section-4.2 */
  codeChallenge: string;
  scope?: Scope | undefined;
  /** An unguessable value the ID token must carry back (OpenID Connect). */
  nonce?: string | undefined;
  /** Any other parameter: `prompt`, `login_hint`, `audience`, Google's `access_type`… */
  params?: Readonly<Record<string, string>> | undefined;
}

/** Parameters of {@link OAuthClient.authorizationCode}. */
export interface AuthorizationCodeParams {
  /** The `code` of the callback (check its `state` first). */
  code: string;
  /** The same `redirectUri` the authorization URL named. */
  redirectUri: string;
  /** The PKCE verifier whose challenge the authorization URL carried. */
  codeVerifier: string;
  /** The nonce the authorization URL carried, when it did: the ID token must hold it. */
  nonce?: string | undefined;
  /**
   * The callback's `iss`, when it has one: it must be the issuer (a mix-up attack otherwise).
   * Left out, it is not checked.
   * @see https://www.rfc-editor.org/rfc/rfc9207
   */
  iss?: string | undefined;
}

/** Options of {@link OAuthClient.refresh}. */
export interface RefreshOptions {
  /** A narrower scope than the one granted. */
  scope?: Scope | undefined;
}

/** Parameters of {@link OAuthClient.password}. */
export interface PasswordParams {
  username: string;
  password: string;
  scope?: Scope | undefined;
}

/** Options of {@link OAuthClient.getAccessToken}. */
export interface GetAccessTokenOptions extends ClientCredentialsParams {
  /** A cached token is used while it stays valid this many more seconds. @default 60 */
  minValidity?: number | undefined;
}

/** Which kind of token {@link OAuthClient.revoke} or {@link OAuthClient.introspect} is given. */
export type TokenTypeHint = "access_token" | "refresh_token";

/** An introspection answer (RFC 7662 §2.2), as the server sent it. */
export interface IntrospectionResult {
  readonly active: boolean;
  readonly scope?: string;
  readonly client_id?: string;
  readonly username?: string;
  readonly token_type?: string;
  readonly exp?: number;
  readonly iat?: number;
  readonly nbf?: number;
  readonly sub?: string;
  readonly aud?: string | string[];
  readonly iss?: string;
  readonly jti?: string;
  readonly [field: string]: unknown;
}

/** The server-side OAuth 2.0 client; see {@link createOAuthClient}. */
export interface OAuthClient {
  /** The client credentials grant: a token for this client itself. @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4 */
  clientCredentials(params?: ClientCredentialsParams): Promise<TokenSet>;
  /** The URL to send a user to, for a server-rendered login (authorization code with PKCE S256). */
  authorizationUrl(params: AuthorizationUrlParams): Promise<string>;
  /** Exchanges the callback's code; an ID token in the answer is verified (signature, `iss`, `aud`, `azp`, `exp`, nonce). */
  authorizationCode(params: AuthorizationCodeParams): Promise<TokenSet>;
  /** New tokens for a refresh token (or a set holding one); the old refresh token is kept when the server does not rotate it. */
  refresh(token: TokenSet | string, options?: RefreshOptions): Promise<TokenSet>;
  /** The resource owner password grant; fails with `config` unless `allowPasswordGrant` is true. */
  password(params: PasswordParams): Promise<TokenSet>;
  /** Revokes a token. @see https://www.rfc-editor.org/rfc/rfc7009 */
  revoke(token: string, hint?: TokenTypeHint): Promise<void>;
  /** Revokes a set's refresh token, then its access token; fails with the first failure once both were tried. */
  revokeAll(tokenSet: TokenSet): Promise<void>;
  /** Asks the server what it knows of a token. @see https://www.rfc-editor.org/rfc/rfc7662 */
  introspect(token: string, hint?: TokenTypeHint): Promise<IntrospectionResult>;
  /**
   * An access token of this client (client credentials), cached: the same token until it is
   * within `minValidity` seconds of expiry; concurrent callers share one request per scope,
   * audience and resource; a failure is not cached. A token whose lifetime the server did not
   * state is not reused.
   */
  getAccessToken(options?: GetAccessTokenOptions): Promise<string>;
}

const PREFIX = "react-sso-kit/server createOAuthClient";

function fail(field: string, expected: string): never {
  throw new AuthError(AuthErrorCode.Config, `${PREFIX}: "${field}" ${expected}.`);
}

function requireString(field: string, value: unknown): string {
  if (typeof value !== "string" || value === "") fail(field, "must be a non-empty string");
  return value;
}

const ENDPOINT_OPTIONS = ["tokenEndpoint", "authorizationEndpoint", "revocationEndpoint", "introspectionEndpoint", "jwksUri"] as const;

/** Authorization-request parameters the client sets itself: `params` may not replace them. */
const RESERVED = new Set(["response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "scope", "nonce", "client_secret"]);

interface Server {
  as: oauth.AuthorizationServer;
  /** The configured or discovered issuer: what an ID token's `iss` must be. */
  issuer: string | undefined;
  jwks: JwksSource | undefined;
}

/**
 * The server-side OAuth 2.0 client of react-sso-kit: the grants and token operations of
 * simple-oauth2 and of an `OAuth2Client`, over oauth4webapi. Every answer is a {@link TokenSet};
 * every failure an {@link AuthError} with the IdP's `error`, `errorDescription` and HTTP
 * `status`, `transient` for network failures, timeouts, 408, 429 and 5xx. No secret, password,
 * code or token appears in any message.
 *
 * @example
 * ```ts
 * const oauth = createOAuthClient({ issuer: "https://sso.example.com", clientId: "reports-service", clientSecret: process.env.SECRET });
 * const token = await oauth.getAccessToken({ scope: "reports:read" });
 * ```
 */
export function createOAuthClient(options: OAuthClientOptions): OAuthClient {
  if (typeof options !== "object" || options === null) fail("options", "must be an object");
  const { issuer, clientSecret } = options;
  if (issuer !== undefined && !isSafeEndpoint(issuer)) fail("issuer", "must be an https URL (plain http only on loopback hosts)");
  for (const field of ENDPOINT_OPTIONS) {
    const value = options[field];
    if (value !== undefined && !isSafeEndpoint(value)) fail(field, "must be an https URL (plain http only on loopback hosts)");
  }
  const configured = ENDPOINT_OPTIONS.some((field) => options[field] !== undefined);
  if (issuer === undefined && !configured) fail("issuer", 'is required (or "tokenEndpoint" and the other endpoints, for a server without discovery)');
  const clientId = requireString("clientId", options.clientId);
  if (clientSecret !== undefined) requireString("clientSecret", clientSecret);
  for (const [field, value] of [["clientId", clientId], ["clientSecret", clientSecret]] as const) {
    try {
      if (value !== undefined) encodeBasicCredential(value);
    } catch {
      fail(field, "must be valid Unicode text");
    }
  }
  const method = options.clientAuthentication;
  if (method !== undefined && method !== "client_secret_basic" && method !== "client_secret_post") {
    fail("clientAuthentication", 'must be "client_secret_basic" or "client_secret_post"');
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 2 ** 31 - 1) fail("timeoutMs", "must be a whole number of milliseconds between 1 and 2147483647");
  const clockTolerance = options.clockTolerance ?? 5;
  if (typeof clockTolerance !== "number" || !Number.isFinite(clockTolerance) || clockTolerance < 0) fail("clockTolerance", "must be a number of seconds, 0 or more");
  if (options.fetch !== undefined && typeof options.fetch !== "function") fail("fetch", "must be a function");

  const http = createIdpHttp(options.fetch, timeoutMs, resolveDebug(options.debug));
  const client: oauth.Client = { client_id: clientId, [oauth.clockTolerance]: clockTolerance };

  function build(discovered: oauth.AuthorizationServer | undefined): Server {
    const as: oauth.AuthorizationServer = {
      ...discovered,
      // oauth4webapi wants an issuer even for a server without one; that stand-in never passes for an ID token's iss.
      issuer: discovered?.issuer ?? issuer ?? "urn:react-sso:no-issuer",
      token_endpoint: options.tokenEndpoint ?? discovered?.token_endpoint,
      authorization_endpoint: options.authorizationEndpoint ?? discovered?.authorization_endpoint,
      revocation_endpoint: options.revocationEndpoint ?? discovered?.revocation_endpoint,
      introspection_endpoint: options.introspectionEndpoint ?? discovered?.introspection_endpoint,
      jwks_uri: options.jwksUri ?? discovered?.jwks_uri,
    } as oauth.AuthorizationServer;
    return { as, issuer, jwks: as.jwks_uri ? createJwksSource({ uri: as.jwks_uri, fetch: http.fetch, timeoutMs }) : undefined };
  }

  const discovery = issuer !== undefined && !configured ? cachedDiscovery(issuer, http) : undefined;
  let server: Server | undefined = discovery ? undefined : build(undefined);
  async function getServer(): Promise<Server> {
    if (server) return server;
    try {
      server ??= build(await (discovery as () => Promise<oauth.AuthorizationServer>)());
    } catch (err) {
      throw await toAuthError(err, "The issuer's discovery document");
    }
    return server;
  }

  type Endpoint = "token_endpoint" | "authorization_endpoint" | "revocation_endpoint" | "introspection_endpoint";
  const ENDPOINT_NAMES: Record<Endpoint, [option: string, name: string]> = {
    token_endpoint: ["tokenEndpoint", "token endpoint"],
    authorization_endpoint: ["authorizationEndpoint", "authorization endpoint"],
    revocation_endpoint: ["revocationEndpoint", "revocation endpoint"],
    introspection_endpoint: ["introspectionEndpoint", "introspection endpoint"],
  };

  /** The server, once it is known to have `endpoint`; and how to authenticate there. */
  async function serverWith(endpoint: Endpoint): Promise<{ as: oauth.AuthorizationServer; auth: oauth.ClientAuth; up: Server }> {
    const up = await getServer();
    if (!up.as[endpoint]) {
      const [option, name] = ENDPOINT_NAMES[endpoint];
      throw new AuthError(AuthErrorCode.Config, `${PREFIX}: the IdP has no ${name}: set "${option}".`);
    }
    const own =
      endpoint === "revocation_endpoint"
        ? up.as.revocation_endpoint_auth_methods_supported
        : endpoint === "introspection_endpoint"
          ? up.as.introspection_endpoint_auth_methods_supported
          : undefined;
    const listed = own ?? up.as.token_endpoint_auth_methods_supported;
    const auth = clientAuthentication(chooseClientAuthMethod(listed, clientSecret !== undefined, method), clientSecret);
    return { as: up.as, auth, up };
  }

  /** Runs one exchange with an endpoint; whatever fails becomes an AuthError that names it. */
  async function call<T>(who: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      throw await toAuthError(err, who);
    }
  }

  async function checkIdToken(up: Server, response: oauth.TokenEndpointResponse): Promise<void> {
    const idToken = response.id_token;
    if (idToken === undefined) return;
    if (!up.issuer || (!up.jwks && !clientSecret)) throw unverifiableIdToken();
    try {
      await verifyIdToken(idToken, { issuer: up.issuer, clientId, clockTolerance, jwks: up.jwks, clientSecret });
    } catch (err) {
      if (err instanceof IdTokenRefused) throw new AuthError(AuthErrorCode.InvalidIdToken, `The ID token was refused: ${err.message}`);
      throw err;
    }
  }

  const unverifiableIdToken = () =>
    new AuthError(
      AuthErrorCode.InvalidIdToken,
      'The ID token was refused: it cannot be verified without an issuer and its keys (set "issuer", and "jwksUri" for a server without discovery).',
    );

  /** A token-endpoint exchange and its answer as a TokenSet. */
  async function tokenRequest(
    grant: string,
    send: (as: oauth.AuthorizationServer, auth: oauth.ClientAuth) => Promise<Response>,
    process: (as: oauth.AuthorizationServer, response: Response) => Promise<oauth.TokenEndpointResponse>,
    keepRefreshToken?: string,
  ): Promise<TokenSet> {
    const { as, auth, up } = await serverWith("token_endpoint");
    const who = `The token endpoint (${grant})`;
    const response = await call(who, () => send(as, auth));
    const receivedAt = Date.now();
    const body = await call(who, () => process(as, response)).catch((err: AuthError) => {
      // oauth4webapi checked the ID token's iss against a stand-in: say what is missing instead.
      throw err.code === AuthErrorCode.InvalidIdToken && !up.issuer ? unverifiableIdToken() : err;
    });
    await checkIdToken(up, body);
    return tokenSetOf(body as TokenInput, receivedAt, keepRefreshToken);
  }

  function scopeParam(value: Scope | undefined, field: string): string | undefined {
    const scopes = scopeList(value, field);
    return scopes.length > 0 ? scopes.join(" ") : undefined;
  }

  function clientCredentialsParameters(params: ClientCredentialsParams): URLSearchParams {
    if (typeof params !== "object" || params === null) fail("params", "must be an object");
    const parameters = new URLSearchParams();
    const scope = scopeParam(params.scope, "scope");
    if (scope) parameters.set("scope", scope);
    if (params.audience !== undefined) parameters.set("audience", requireString("audience", params.audience));
    const resources = params.resource === undefined ? [] : typeof params.resource === "string" ? [params.resource] : [...params.resource];
    for (const resource of resources) parameters.append("resource", requireString("resource", resource));
    return parameters;
  }

  const oauthClient: OAuthClient = {
    clientCredentials(params = {}) {
      const parameters = clientCredentialsParameters(params);
      return tokenRequest(
        "client_credentials",
        (as, auth) => oauth.clientCredentialsGrantRequest(as, client, auth, parameters, http.options()),
        (as, response) => oauth.processClientCredentialsResponse(as, client, response),
      );
    },

    async authorizationUrl(params) {
      if (typeof params !== "object" || params === null) fail("params", "must be an object");
      const redirectUri = requireString("redirectUri", params.redirectUri);
      const state = requireString("state", params.state);
      if (typeof params.codeChallenge !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(params.codeChallenge)) {
        fail("codeChallenge", "must be the PKCE S256 challenge of your verifier: 43 base64url characters (BASE64URL(SHA-256(verifier)))");
      }
      const url = new URL((await serverWith("authorization_endpoint")).as.authorization_endpoint as string);
      const query = url.searchParams;
      query.set("response_type", "code");
      query.set("client_id", clientId);
      query.set("redirect_uri", redirectUri);
      const scope = scopeParam(params.scope, "scope");
      if (scope) query.set("scope", scope);
      query.set("state", state);
      query.set("code_challenge", params.codeChallenge);
      query.set("code_challenge_method", "S256");
      if (params.nonce !== undefined) query.set("nonce", requireString("nonce", params.nonce));
      for (const [name, value] of Object.entries(params.params ?? {})) {
        if (RESERVED.has(name)) fail(`params.${name}`, "is set by authorizationUrl itself; use its own option");
        query.set(name, requireString(`params.${name}`, value));
      }
      return url.href;
    },

    authorizationCode(params) {
      if (typeof params !== "object" || params === null) fail("params", "must be an object");
      const code = requireString("code", params.code);
      const redirectUri = requireString("redirectUri", params.redirectUri);
      const codeVerifier = requireString("codeVerifier", params.codeVerifier);
      const nonce = params.nonce === undefined ? undefined : requireString("nonce", params.nonce);
      const iss = params.iss === undefined ? undefined : requireString("iss", params.iss);
      return tokenRequest(
        "authorization_code",
        async (as, auth) => {
          // The caller checked state; oauth4webapi checks iss, which it would require from a server
          // that advertises RFC 9207 even when the caller has none to give.
          const checkedAs = iss === undefined ? { ...as, authorization_response_iss_parameter_supported: false } : as;
          let callback: URLSearchParams;
          try {
            callback = oauth.validateAuthResponse(checkedAs, client, new URLSearchParams({ code, ...(iss === undefined ? {} : { iss }) }), oauth.skipStateCheck);
          } catch {
            throw new AuthError(AuthErrorCode.IssuerMismatch, `The callback's iss is not the issuer ${JSON.stringify(as.issuer)}: the code may come from another server (a mix-up attack), and is not exchanged.`);
          }
          return oauth.authorizationCodeGrantRequest(as, client, auth, callback, redirectUri, codeVerifier, http.options());
        },
        // With a nonce the answer must hold an ID token carrying it; without one, an ID token must carry none.
        (as, response) => oauth.processAuthorizationCodeResponse(as, client, response, nonce === undefined ? {} : { expectedNonce: nonce, requireIdToken: true }),
      );
    },

    refresh(token, refreshOptions = {}) {
      const refreshToken = typeof token === "string" ? token : token?.refreshToken;
      if (typeof refreshToken !== "string" || refreshToken === "") {
        fail("token", "must be a refresh token or a TokenSet holding one (the server issued none: ask for offline_access, or sign in again)");
      }
      const scope = scopeParam(refreshOptions.scope, "scope");
      return tokenRequest(
        "refresh_token",
        (as, auth) => oauth.refreshTokenGrantRequest(as, client, auth, refreshToken, { ...http.options(), ...(scope ? { additionalParameters: { scope } } : {}) }),
        (as, response) => oauth.processRefreshTokenResponse(as, client, response),
        refreshToken,
      );
    },

    async password(params) {
      if (options.allowPasswordGrant !== true) {
        throw new AuthError(
          AuthErrorCode.Config,
          `${PREFIX}: the password grant is disabled. The OAuth 2.0 Security BCP forbids it; set allowPasswordGrant: true only to migrate users off it.`,
        );
      }
      if (typeof params !== "object" || params === null) fail("params", "must be an object");
      const parameters = new URLSearchParams({ username: requireString("username", params.username), password: requireString("password", params.password) });
      const scope = scopeParam(params.scope, "scope");
      if (scope) parameters.set("scope", scope);
      return tokenRequest(
        "password",
        (as, auth) => oauth.genericTokenEndpointRequest(as, client, auth, "password", parameters, http.options()),
        (as, response) => oauth.processGenericTokenEndpointResponse(as, client, response),
      );
    },

    async revoke(token, hint) {
      requireString("token", token);
      if (hint !== undefined && hint !== "access_token" && hint !== "refresh_token") fail("hint", 'must be "access_token" or "refresh_token"');
      const { as, auth } = await serverWith("revocation_endpoint");
      await call("The revocation endpoint", async () =>
        oauth.processRevocationResponse(
          await oauth.revocationRequest(as, client, auth, token, { ...http.options(), ...(hint ? { additionalParameters: { token_type_hint: hint } } : {}) }),
        ),
      );
    },

    async revokeAll(tokenSet) {
      if (typeof tokenSet !== "object" || tokenSet === null) fail("tokenSet", "must be a TokenSet");
      const accessToken = requireString("tokenSet.accessToken", tokenSet.accessToken);
      // The refresh token first: revoking it ends the grant at most servers, whatever happens next.
      const outcomes = [];
      if (tokenSet.refreshToken) outcomes.push(await oauthClient.revoke(tokenSet.refreshToken, "refresh_token").then(() => undefined, (err: unknown) => err));
      outcomes.push(await oauthClient.revoke(accessToken, "access_token").then(() => undefined, (err: unknown) => err));
      const failure = outcomes.find((outcome) => outcome !== undefined);
      if (failure !== undefined) throw failure;
    },

    async introspect(token, hint) {
      requireString("token", token);
      if (hint !== undefined && hint !== "access_token" && hint !== "refresh_token") fail("hint", 'must be "access_token" or "refresh_token"');
      const { as, auth } = await serverWith("introspection_endpoint");
      return call("The introspection endpoint", async () =>
        oauth.processIntrospectionResponse(
          as,
          client,
          await oauth.introspectionRequest(as, client, auth, token, { ...http.options(), ...(hint ? { additionalParameters: { token_type_hint: hint } } : {}) }),
        ),
      );
    },

    async getAccessToken(tokenOptions = {}) {
      const { minValidity = 60, ...params } = tokenOptions;
      if (typeof minValidity !== "number" || !Number.isFinite(minValidity) || minValidity < 0) fail("minValidity", "must be a number of seconds, 0 or more");
      const parameters = clientCredentialsParameters(params);
      // The key ignores the order of scopes and resources: "a b" and "b a" are the same request.
      const key = JSON.stringify([...parameters].map(([name, value]) => [name, name === "scope" ? value.split(" ").sort().join(" ") : value]).sort());
      const held = tokens.get(key);
      if (held && held.expiresAt !== undefined && !held.expired(minValidity)) return held.accessToken;
      let pending = requests.get(key);
      if (!pending) {
        pending = oauthClient.clientCredentials(params).finally(() => requests.delete(key));
        requests.set(key, pending);
        pending.then(
          (token) => tokens.set(key, token),
          () => undefined,
        );
      }
      return (await pending).accessToken;
    },
  };

  // Concurrency of getAccessToken: `requests` holds the one client-credentials request in flight
  // per key, so concurrent callers share it instead of each asking; `tokens` holds the last token
  // obtained per key, written only when a request succeeds (a failure is never cached: the next
  // call asks again).
  const tokens = new Map<string, TokenSet>();
  const requests = new Map<string, Promise<TokenSet>>();

  return oauthClient;
}
