import { decodeProtectedHeader, errors, type JWTPayload } from "jose";
import * as oauth from "oauth4webapi";
import { AuthError, AuthErrorCode } from "../shared/AuthError.js";
import { chooseClientAuthMethod, clientAuthentication, encodeBasicCredential } from "./clientAuth.js";
import { resolveDebug, type DebugOption } from "./debug.js";
import { cachedDiscovery } from "./discovery.js";
import { createIdpHttp, isSafeEndpoint, toAuthError, type IdpHttp } from "./idpHttp.js";
import { ASYMMETRIC_ALGORITHMS, createJwksSource, verifyWithJwks, type JwksSource } from "./jwks.js";
import { headerValues, queryHas, type RequestLike } from "./requestHeaders.js";
import { grantedScopes, scopeList, type Scope } from "./scopes.js";

/** How the verifier checks tokens that are not JWTs, at the IdP's RFC 7662 endpoint. */
export interface IntrospectionOptions {
  /** The client this API authenticates as at the introspection endpoint (often the API's own registration). */
  clientId: string;
  /** Its secret; omit for a client registered without one. */
  clientSecret?: string | undefined;
  /** The introspection endpoint. @default the discovered `introspection_endpoint` */
  endpoint?: string | undefined;
  /**
   * How the secret is sent.
   * @default `client_secret_post` when discovery lists it and not `client_secret_basic`, else `client_secret_basic`
   */
  clientAuthentication?: "client_secret_basic" | "client_secret_post" | undefined;
  /**
   * How long an active answer is reused, in seconds, from 0 (never) to 60; never beyond the
   * token's own `exp`. A token revoked meanwhile is accepted until then.
   * @default 60
   */
  cacheSeconds?: number | undefined;
}

/** Options of {@link createTokenVerifier}. */
export interface TokenVerifierOptions {
  /**
   * The IdP's issuer, exactly as its discovery document writes it. JWT access tokens must carry
   * it as `iss`. Discovery (OpenID Connect, then RFC 8414) gives what is not configured: the
   * `jwks_uri` unless `jwksUri` or `introspection.endpoint` is given, and the
   * `introspection_endpoint` when introspection is on without its endpoint (JWTs are then checked
   * against `jwksUri` without waiting for it). Read once; a failed read is retried on the next request.
   */
  issuer?: string | undefined;
  /** The audience (`aud`) this API accepts: a token must name at least one of them. @see https://www.rfc-editor.org/rfc/rfc9068#section-4 */
  audience: string | readonly string[];
  /** The JWKS that signs access tokens. Needs `issuer`. With it (and `introspection.endpoint` when introspection is on), no discovery request is made. */
  jwksUri?: string | undefined;
  /** Check tokens that are not JWTs (opaque tokens) at the introspection endpoint. @see https://www.rfc-editor.org/rfc/rfc7662 */
  introspection?: IntrospectionOptions | undefined;
  /** Clock skew allowed on `exp` and `nbf`, in seconds. @default 5 */
  clockTolerance?: number | undefined;
  /**
   * The JWS algorithms accepted. Only asymmetric ones can be listed: `none` and HMAC (`HS*`) are
   * never accepted, since a public key must not serve as an HMAC secret.
   * @default every asymmetric algorithm, so in effect those of the keys in the JWKS
   */
  algorithms?: readonly string[] | undefined;
  /** Timeout of each request to the IdP (discovery, JWKS, introspection), in milliseconds. @default 5000 */
  timeoutMs?: number | undefined;
  /** The `fetch` used to reach the IdP. @default globalThis.fetch */
  fetch?: typeof fetch | undefined;
  /** One line per request to the IdP; see {@link DebugOption}. */
  debug?: DebugOption | undefined;
}

/** Options of {@link TokenVerifier.verify}. */
export interface VerifyOptions {
  /** Scopes the token must all grant (its `scope` or `scp` claim); a space-separated string or an array. */
  scopes?: Scope | undefined;
}

/** What a valid access token says, as {@link TokenVerifier.verify} resolves it. */
export interface AuthInfo {
  /** The subject: the user, or for a client-credentials token usually the client. */
  sub: string | undefined;
  /** The client the token was issued to (`client_id`, else `azp`). */
  clientId: string | undefined;
  /** The scopes the token grants. */
  scopes: string[];
  /** Every claim of the JWT, or every field of the introspection answer. */
  claims: Readonly<Record<string, unknown>>;
  /** The access token itself, e.g. to pass on to another API. */
  token: string;
}

/** Checks the bearer tokens of incoming requests. Create one per API and reuse it: it caches keys and answers. */
export interface TokenVerifier {
  /**
   * Resolves what the request's access token says, or rejects with an {@link AuthError} whose
   * `status`, `wwwAuthenticate`, `error` (else `code`) and `errorDescription` are the answer to
   * send (RFC 6750 §3), safe to show the caller: 401 without error code
   * when there are no credentials; 400 `invalid_request` for a malformed `Authorization` header
   * or a token in the query string; 401 `invalid_token` for a bad, expired, revoked or foreign
   * token; 403 `insufficient_scope`; 503 (`transient`) when the IdP or its JWKS cannot be
   * reached. When the verifier's own configuration is wrong (an issuer without discovery, refused
   * introspection credentials) the error has no `status`, and the guards answer 500.
   */
  verify(request: RequestLike, options?: VerifyOptions): Promise<AuthInfo>;
}

/** RFC 6750 §3: values are quoted strings of %x20-21 / %x23-5B / %x5D-7E only. */
function quoted(value: string): string {
  return `"${value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, " ")}"`;
}

/**
 * A `WWW-Authenticate` value for a Bearer resource: just `Bearer` when there is no error to name.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3
 */
export function bearerChallenge(error?: { code: string; description: string; scope?: string | undefined }): string {
  if (!error) return "Bearer";
  const parts = [`error=${quoted(error.code)}`, `error_description=${quoted(error.description)}`];
  if (error.scope) parts.push(`scope=${quoted(error.scope)}`);
  return `Bearer ${parts.join(", ")}`;
}

type RefusalCode = typeof AuthErrorCode.InvalidRequest | typeof AuthErrorCode.InvalidToken | typeof AuthErrorCode.InsufficientScope;

function refusal(status: 400 | 401 | 403, code: RefusalCode, description: string, scope?: string): AuthError {
  return new AuthError(code, description, {
    status,
    error: code,
    errorDescription: description,
    wwwAuthenticate: bearerChallenge({ code, description, scope }),
  });
}

const invalidToken = (description: string) => refusal(401, AuthErrorCode.InvalidToken, description);

/**
 * The IdP failed us, not the caller: never a 401, which would sign a user out. A 503 when trying
 * again may help; otherwise the verifier's own configuration is wrong, which has no status of
 * its own (the guards answer 500).
 */
function upstreamFailure(err: AuthError): AuthError {
  const message = `The access token could not be checked: ${err.message}`;
  // The message, with the IdP's URLs, is for the server's logs; the description is for the caller.
  return err.transient
    ? new AuthError(AuthErrorCode.TemporarilyUnavailable, message, {
        status: 503,
        error: AuthErrorCode.TemporarilyUnavailable,
        errorDescription: "The access token cannot be checked right now; try again later.",
        retryAfter: err.retryAfter,
        cause: err,
      })
    : new AuthError(err.code, message, { error: err.error, errorDescription: err.errorDescription, cause: err });
}

/** RFC 6750 §2.1 b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The request's bearer token, or the refusal RFC 6750 §3.1 prescribes. */
export function bearerToken(request: RequestLike): string {
  const values = headerValues(request, "authorization");
  const inQuery = queryHas(request, "access_token");
  if (values.length > 1) throw refusal(400, AuthErrorCode.InvalidRequest, "The request has more than one Authorization header.");
  const header = values[0];
  if (header === undefined || !/^bearer(\s|$)/i.test(header.trim())) {
    if (inQuery) throw refusal(400, AuthErrorCode.InvalidRequest, "Access tokens in the query string are refused: send it in the Authorization header.");
    // No credentials, or another scheme: RFC 6750 §3.1 names no error code then.
    const description = 'No access token: send it in the Authorization header as "Bearer <token>".';
    throw new AuthError(AuthErrorCode.LoginRequired, description, { status: 401, errorDescription: description, wwwAuthenticate: bearerChallenge() });
  }
  const token = BEARER.exec(header)?.[1];
  if (token === undefined) throw refusal(400, AuthErrorCode.InvalidRequest, 'The Authorization header is not "Bearer <token>".');
  if (inQuery) throw refusal(400, AuthErrorCode.InvalidRequest, "The access token came in the Authorization header and in the query string: send it once.");
  return token;
}

function isCompactJws(token: string): boolean {
  if (token.split(".").length !== 3) return false;
  try {
    return typeof decodeProtectedHeader(token).alg === "string";
  } catch {
    return false;
  }
}

function jwtFailure(err: unknown): AuthError {
  if (err instanceof AuthError) return upstreamFailure(err);
  if (err instanceof errors.JWTExpired) return invalidToken("The access token has expired.");
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "aud":
        return invalidToken("The access token is meant for another audience (aud).");
      case "iss":
        return invalidToken("The access token comes from another issuer (iss).");
      case "nbf":
        return invalidToken("The access token is not valid yet (nbf).");
      default:
        return invalidToken(`The access token's "${err.claim.slice(0, 40)}" claim is missing or invalid.`);
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return invalidToken("The access token's signing algorithm is not accepted.");
  }
  if (err instanceof errors.JWKSNoMatchingKey) return invalidToken("The access token is signed with a key the identity provider does not list.");
  if (err instanceof errors.JWSSignatureVerificationFailed) return invalidToken("The access token's signature is invalid.");
  return invalidToken("The access token is malformed.");
}

const PREFIX = "react-sso-kit/server createTokenVerifier";

function fail(field: string, expected: string): never {
  throw new AuthError(AuthErrorCode.Config, `${PREFIX}: "${field}" ${expected}.`);
}

function checkEndpoint(field: string, value: unknown): string {
  if (typeof value !== "string" || !isSafeEndpoint(value)) fail(field, "must be an https URL (plain http only on loopback hosts)");
  return value;
}

function checkSecret(field: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== "string" || value === "") fail(field, "must be a non-empty string, or be left out");
  try {
    encodeBasicCredential(value);
  } catch {
    fail(field, "must be valid Unicode text");
  }
}

interface Upstream {
  /** The `iss` JWTs must carry. */
  issuer: string | undefined;
  jwks: JwksSource | undefined;
  introspect: ((token: string) => Promise<oauth.IntrospectionResponse>) | undefined;
}

/** Only positive answers are cached, at most this many; the oldest go first. */
const MAX_CACHED = 1000;

/**
 * The resource-server guard: checks the bearer token of a request the way RFC 6750, RFC 9068 and
 * RFC 7662 describe. A JWT access token is verified against the issuer's JWKS (signature, `iss`,
 * `aud`, `exp`, `nbf`, `typ` `at+jwt` or `JWT`) and never sent to introspection; any other token
 * goes to the introspection endpoint when `introspection` is configured. Without a JWKS (no
 * `jwksUri`, none discovered) every token is introspected, as servers whose JWTs only they can
 * check (HS256) require. An introspected token must be active, unexpired, name this API in
 * `aud`, and not be a refresh token. Required scopes are checked last. Sender-constrained tokens
 * (`cnf`: DPoP, mTLS) are refused: this guard does not check their proof.
 *
 * @example
 * ```ts
 * const verifier = createTokenVerifier({ issuer: "https://sso.example.com", audience: "https://api.example.com" });
 * const auth = await verifier.verify(request, { scopes: ["orders:read"] });
 * ```
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  if (typeof options !== "object" || options === null) fail("options", "must be an object");
  const { issuer, jwksUri, introspection } = options;
  if (issuer !== undefined) checkEndpoint("issuer", issuer);
  const audience: unknown = options.audience;
  const listed: unknown[] = typeof audience === "string" ? [audience] : Array.isArray(audience) ? [...(audience as unknown[])] : [];
  if (listed.length === 0 || !listed.every((a) => typeof a === "string" && a !== "")) {
    fail("audience", 'is required: the audience (aud) of this API, e.g. "https://api.example.com", or a list of them');
  }
  const audiences = listed as string[];
  if (jwksUri !== undefined) {
    checkEndpoint("jwksUri", jwksUri);
    if (issuer === undefined) fail("issuer", "is required with jwksUri: a JWT's iss is checked against it");
  }
  if (introspection !== undefined) {
    if (typeof introspection !== "object" || introspection === null) fail("introspection", "must be an object");
    if (typeof introspection.clientId !== "string" || introspection.clientId === "") fail("introspection.clientId", "is required");
    checkSecret("introspection.clientId", introspection.clientId);
    checkSecret("introspection.clientSecret", introspection.clientSecret);
    if (introspection.endpoint !== undefined) checkEndpoint("introspection.endpoint", introspection.endpoint);
    else if (issuer === undefined) fail("introspection.endpoint", "is required without an issuer to discover it from");
    const method = introspection.clientAuthentication;
    if (method !== undefined && method !== "client_secret_basic" && method !== "client_secret_post") {
      fail("introspection.clientAuthentication", 'must be "client_secret_basic" or "client_secret_post"');
    }
    const seconds = introspection.cacheSeconds;
    if (seconds !== undefined && (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds < 0 || seconds > 60)) {
      fail("introspection.cacheSeconds", "must be a whole number of seconds from 0 to 60");
    }
  }
  if (issuer === undefined && jwksUri === undefined && introspection === undefined) {
    fail("issuer", 'is required (or "jwksUri" with it, or "introspection" with its endpoint)');
  }
  const clockTolerance = options.clockTolerance ?? 5;
  if (typeof clockTolerance !== "number" || !Number.isFinite(clockTolerance) || clockTolerance < 0) fail("clockTolerance", "must be a number of seconds, 0 or more");
  const algorithms = options.algorithms === undefined ? undefined : [...options.algorithms];
  if (algorithms !== undefined && (algorithms.length === 0 || !algorithms.every((alg) => ASYMMETRIC_ALGORITHMS.includes(alg)))) {
    fail("algorithms", `must list asymmetric JWS algorithms (${ASYMMETRIC_ALGORITHMS.join(", ")}); "none" and HMAC are never accepted`);
  }
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 2 ** 31 - 1) fail("timeoutMs", "must be a whole number of milliseconds between 1 and 2147483647");
  if (options.fetch !== undefined && typeof options.fetch !== "function") fail("fetch", "must be a function");
  const cacheSeconds = introspection?.cacheSeconds ?? 60;

  const http = createIdpHttp(options.fetch, timeoutMs, resolveDebug(options.debug));

  // Made once: a JWT is checked against the configured JWKS whether or not discovery has run.
  const configuredJwks = jwksUri === undefined ? undefined : createJwksSource({ uri: jwksUri, fetch: http.fetch, timeoutMs });
  /** What a JWT needs while discovery (for introspection's endpoint only) has not answered yet. */
  const jwtOnly: Upstream | undefined = configuredJwks && { issuer, jwks: configuredJwks, introspect: undefined };

  function build(as: oauth.AuthorizationServer | undefined): Upstream {
    const jwksAt = as?.jwks_uri;
    const endpoint = introspection?.endpoint ?? as?.introspection_endpoint;
    let introspect: Upstream["introspect"];
    if (introspection && endpoint) {
      const server: oauth.AuthorizationServer = { issuer: issuer ?? new URL(endpoint).origin, introspection_endpoint: endpoint };
      const client: oauth.Client = { client_id: introspection.clientId };
      const method = chooseClientAuthMethod(
        as?.introspection_endpoint_auth_methods_supported ?? as?.token_endpoint_auth_methods_supported,
        introspection.clientSecret !== undefined,
        introspection.clientAuthentication,
      );
      const auth = clientAuthentication(method, introspection.clientSecret);
      introspect = async (token) => {
        try {
          const response = await oauth.introspectionRequest(server, client, auth, token, {
            ...http.options(),
            additionalParameters: { token_type_hint: "access_token" },
          });
          return await oauth.processIntrospectionResponse(server, client, response);
        } catch (err) {
          throw await toAuthError(err, "The introspection endpoint");
        }
      };
    }
    return {
      issuer,
      jwks: configuredJwks ?? (jwksAt ? createJwksSource({ uri: jwksAt, fetch: http.fetch, timeoutMs }) : undefined),
      introspect,
    };
  }

  // Discovery is for what is not configured: without jwksUri or introspection.endpoint, both; with
  // jwksUri and introspection on, its endpoint (an introspection endpoint alone means no JWKS: every
  // token is introspected).
  const missing = introspection?.endpoint === undefined && (jwksUri === undefined || introspection !== undefined);
  const discovered = issuer !== undefined && missing ? cachedDiscovery(issuer, http) : undefined;
  let upstream: Upstream | undefined = discovered ? undefined : build(undefined);
  async function getUpstream(): Promise<Upstream> {
    if (upstream) return upstream;
    let as: oauth.AuthorizationServer;
    try {
      as = await (discovered as () => Promise<oauth.AuthorizationServer>)();
    } catch (err) {
      throw upstreamFailure(await toAuthError(err, "The issuer's discovery document"));
    }
    upstream ??= build(as);
    return upstream;
  }

  async function verifyJwt(token: string, jwks: JwksSource, up: Upstream): Promise<AuthInfo> {
    let result;
    try {
      result = await verifyWithJwks(token, jwks, {
        issuer: up.issuer as string,
        audience: audiences,
        clockTolerance,
        ...(algorithms ? { algorithms } : {}),
        requiredClaims: ["exp"],
      });
    } catch (err) {
      throw jwtFailure(err);
    }
    const typ = result.protectedHeader.typ;
    // RFC 9068 names at+jwt; most IdPs send JWT or nothing. Anything else is another kind of token.
    if (typ !== undefined && !/^(application\/)?(at\+jwt|jwt)$/i.test(typ)) throw invalidToken("The token is not an access token (typ).");
    return authInfo(token, result.payload);
  }

  // Concurrency: `inflight` makes concurrent checks of one token share one introspection request;
  // `answers` reuses an active answer for at most cacheSeconds and never beyond the token's exp.
  const answers = new Map<string, { answer: oauth.IntrospectionResponse; until: number }>();
  const inflight = new Map<string, Promise<oauth.IntrospectionResponse>>();

  async function introspected(token: string, introspect: NonNullable<Upstream["introspect"]>): Promise<oauth.IntrospectionResponse> {
    // Keyed by the token itself, synchronously: hashing it first would take an await, during
    // which a concurrent check of the same token could start a request of its own.
    const hit = answers.get(token);
    if (hit && Date.now() < hit.until) return hit.answer;
    answers.delete(token);
    let pending = inflight.get(token);
    if (!pending) {
      pending = introspect(token).finally(() => inflight.delete(token));
      inflight.set(token, pending);
      pending.then(
        (answer) => {
          const exp = typeof answer.exp === "number" ? answer.exp * 1000 : Number.POSITIVE_INFINITY;
          const until = Math.min(Date.now() + cacheSeconds * 1000, exp);
          if (!answer.active || until <= Date.now()) return;
          answers.set(token, { answer, until });
          if (answers.size > MAX_CACHED) answers.delete(answers.keys().next().value as string);
        },
        () => undefined,
      );
    }
    try {
      return await pending;
    } catch (err) {
      throw upstreamFailure(err as AuthError);
    }
  }

  async function verifyOpaque(token: string, introspect: NonNullable<Upstream["introspect"]>, up: Upstream): Promise<AuthInfo> {
    const answer = await introspected(token, introspect);
    if (!answer.active) throw invalidToken("The access token is not active (expired, revoked, or unknown to the identity provider).");
    // jmondi's oauth2-server says access_token; a refresh token answers refresh_token, or (oidc-provider) nothing but no aud.
    if (answer.token_type !== undefined && !/^(bearer|access_token)$/i.test(answer.token_type)) throw invalidToken("The token is not a bearer access token.");
    const now = Date.now() / 1000;
    if (typeof answer.exp === "number" && answer.exp <= now - clockTolerance) throw invalidToken("The access token has expired.");
    if (typeof answer.nbf === "number" && answer.nbf > now + clockTolerance) throw invalidToken("The access token is not valid yet (nbf).");
    if (up.issuer !== undefined && answer.iss !== undefined && answer.iss !== up.issuer) throw invalidToken("The access token comes from another issuer (iss).");
    const aud = typeof answer.aud === "string" ? [answer.aud] : Array.isArray(answer.aud) ? answer.aud : [];
    if (!aud.some((a) => audiences.includes(a))) throw invalidToken("The access token is meant for another audience (aud).");
    return authInfo(token, answer);
  }

  function authInfo(token: string, claims: JWTPayload | oauth.IntrospectionResponse): AuthInfo {
    // A sender-constrained token is only valid with a proof (DPoP, mTLS) this guard does not check.
    if (claims.cnf !== undefined) throw invalidToken("Sender-constrained (DPoP or mTLS) access tokens are not accepted here.");
    const clientId = typeof claims.client_id === "string" ? claims.client_id : typeof claims.azp === "string" ? claims.azp : undefined;
    return {
      sub: typeof claims.sub === "string" ? claims.sub : undefined,
      clientId,
      scopes: grantedScopes(claims),
      claims,
      token,
    };
  }

  return {
    async verify(request, verifyOptions = {}) {
      const required = scopeList(verifyOptions.scopes, "scopes");
      const token = bearerToken(request);
      // A JWT with a configured JWKS waits for no discovery (which may only be for introspection's endpoint).
      const up = upstream ?? (isCompactJws(token) && jwtOnly ? jwtOnly : await getUpstream());
      let auth: AuthInfo;
      if (isCompactJws(token) && up.jwks) auth = await verifyJwt(token, up.jwks, up);
      else if (up.introspect) auth = await verifyOpaque(token, up.introspect, up);
      else if (introspection) throw upstreamFailure(new AuthError(AuthErrorCode.Config, 'the IdP lists no introspection_endpoint: set "introspection.endpoint".'));
      else if (!up.jwks) throw upstreamFailure(new AuthError(AuthErrorCode.Config, 'the IdP lists no jwks_uri: set "jwksUri".'));
      else throw invalidToken("The access token is not a JWT, and this API has no introspection to check other tokens.");
      const missing = required.filter((scope) => !auth.scopes.includes(scope));
      if (missing.length > 0) {
        throw refusal(403, AuthErrorCode.InsufficientScope, `The access token lacks the scope ${missing.join(" ")}.`, required.join(" "));
      }
      return auth;
    },
  };
}
