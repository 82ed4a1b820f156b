// A stand-in identity provider for the token proxy's unit tests: a `fetch` that answers the
// IdP's endpoints like a real server would, records every call (so "no upstream request" is a
// count), and never touches the network.
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from "jose";

export const ISSUER = "https://sso.example.com";
export const DISCOVERY_URL = `${ISSUER}/.well-known/openid-configuration`;
export const TOKEN_ENDPOINT = `${ISSUER}/oauth/token`;
export const REVOCATION_ENDPOINT = `${ISSUER}/oauth/revoke`;
export const JWKS_URI = `${ISSUER}/oauth/jwks`;

export const APP_ORIGIN = "https://app.example.com";
export const LOCAL_ORIGIN = "http://localhost:5173";
export const REDIRECT_URI = `${APP_ORIGIN}/callback`;
export const LOCAL_REDIRECT_URI = `${LOCAL_ORIGIN}/callback`;
export const CLIENT_ID = "my-spa";
/** Holds `+`, `%` and `:` on purpose: each must be form-encoded in HTTP Basic (RFC 6749 §2.3.1). */
export const CLIENT_SECRET = "Sup3r+Secret%2Fwith:colons:and+plus";
export const COOKIE_SECRET = "cookie-secret-0123456789-abcdefghijklmnop";
export const OTHER_COOKIE_SECRET = "another-cookie-secret-9876543210-zyxwvuts";
/** A valid PKCE verifier (43 unreserved characters). */
export const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/** One request the proxy made to the IdP. */
export interface IdpCall {
  url: string;
  method: string;
  headers: Headers;
  body: string;
  form: URLSearchParams;
  signal: AbortSignal | undefined;
  /** When it arrived, epoch milliseconds. */
  at: number;
}

export type IdpRoute = (call: IdpCall) => Response | Promise<Response>;

export interface StubIdpOptions {
  /** Issue a new refresh token on every refresh (and retire the old one). @default true */
  rotate?: boolean;
  /** Issue refresh tokens at all. @default true */
  refreshTokens?: boolean;
  /** Add `refresh_expires_in` (seconds) to token responses, like Keycloak. */
  refreshExpiresIn?: number;
  /** Makes the ID token of a token response; omitted: no ID token. */
  idToken?: (call: IdpCall) => Promise<string>;
  /** The JWKS served at {@link JWKS_URI}. */
  jwks?: { keys: JWK[] };
}

export interface StubIdp {
  fetch: typeof fetch;
  /** Every call, in order; unknown URLs are recorded too (and fail like a network error). */
  calls: IdpCall[];
  callsTo(url: string): IdpCall[];
  /** Handlers by exact URL; tests replace them to make the IdP misbehave. */
  routes: Map<string, IdpRoute>;
  /** Every token value this IdP issued. */
  issued: { access: string[]; refresh: string[]; id: string[] };
  /** Refresh tokens the IdP still accepts. */
  live: Set<string>;
}

let serial = 0;
const token = (kind: string) => `${kind}-${++serial}-${crypto.randomUUID()}`;

function bodyText(body: unknown): string {
  if (body === undefined || body === null) return "";
  if (typeof body === "string") return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  throw new TypeError(`stub IdP: unexpected body type ${Object.prototype.toString.call(body)}`);
}

export const oauthError = (status: number, error: string, description: string, headers: Record<string, string> = {}) =>
  Response.json({ error, error_description: description }, { status, headers: { "cache-control": "no-store", ...headers } });

export function createStubIdp(options: StubIdpOptions = {}): StubIdp {
  const calls: IdpCall[] = [];
  const issued = { access: [] as string[], refresh: [] as string[], id: [] as string[] };
  const live = new Set<string>();

  async function tokens(call: IdpCall, rotatedFrom?: string): Promise<Response> {
    const access = token("at");
    issued.access.push(access);
    const body: Record<string, unknown> = { access_token: access, token_type: "Bearer", expires_in: 300, scope: "openid profile offline_access" };
    const rotate = rotatedFrom === undefined || (options.rotate ?? true);
    if ((options.refreshTokens ?? true) && rotate) {
      if (rotatedFrom !== undefined) live.delete(rotatedFrom);
      const refresh = token("rt");
      issued.refresh.push(refresh);
      live.add(refresh);
      body.refresh_token = refresh;
      if (options.refreshExpiresIn !== undefined) body.refresh_expires_in = options.refreshExpiresIn;
    }
    if (options.idToken) {
      const id = await options.idToken(call);
      issued.id.push(id);
      body.id_token = id;
    }
    return Response.json(body, { headers: { "cache-control": "no-store", pragma: "no-cache" } });
  }

  const routes = new Map<string, IdpRoute>([
    [
      DISCOVERY_URL,
      () =>
        Response.json({
          issuer: ISSUER,
          authorization_endpoint: `${ISSUER}/oauth/authorize`,
          token_endpoint: TOKEN_ENDPOINT,
          revocation_endpoint: REVOCATION_ENDPOINT,
          jwks_uri: JWKS_URI,
          response_types_supported: ["code"],
          id_token_signing_alg_values_supported: ["RS256"],
        }),
    ],
    [
      TOKEN_ENDPOINT,
      (call) => {
        if (call.method !== "POST") return new Response(null, { status: 405 });
        const grant = call.form.get("grant_type");
        if (grant === "authorization_code") {
          if (!call.form.get("code") || !call.form.get("code_verifier")) return oauthError(400, "invalid_request", "code and code_verifier are required");
          return tokens(call);
        }
        if (grant === "refresh_token") {
          const presented = call.form.get("refresh_token") ?? "";
          if (!live.has(presented)) return oauthError(400, "invalid_grant", "The refresh token is invalid or expired.");
          return tokens(call, presented);
        }
        return oauthError(400, "unsupported_grant_type", "Unsupported grant type.");
      },
    ],
    [
      REVOCATION_ENDPOINT,
      (call) => {
        live.delete(call.form.get("token") ?? "");
        return new Response(null, { status: 200 });
      },
    ],
    [JWKS_URI, () => (options.jwks ? Response.json(options.jwks) : new Response("not found", { status: 404 }))],
  ]);

  const stubFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    const body = bodyText(init?.body);
    const call: IdpCall = {
      url,
      method: (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase(),
      headers: new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)),
      body,
      form: new URLSearchParams(body),
      signal: init?.signal ?? undefined,
      at: Date.now(),
    };
    calls.push(call);
    const route = routes.get(url);
    if (!route) throw new TypeError(`fetch failed (the stub IdP has no route for ${url})`);
    return route(call);
  };

  return {
    fetch: stubFetch as typeof fetch,
    calls,
    callsTo: (url) => calls.filter((c) => c.url === url),
    routes,
    issued,
    live,
  };
}

export interface Signer {
  jwks: { keys: JWK[] };
  /** Signs an ID token for {@link CLIENT_ID} from {@link ISSUER}, valid 5 minutes; `claims` override. */
  sign(claims?: JWTPayload): Promise<string>;
}

/** An RS256 key pair whose public half is served as a JWKS; `kid` is shared on purpose so a foreign key cannot be told apart by it. */
/**
 * The nonce of the latest login the proxy started: a real IdP echoes the authorization request's
 * nonce (the browser sends the one the proxy's login step gave it) in the ID token of that login.
 */
let loginNonce: string | undefined;
export function rememberLoginNonce(nonce: string | undefined): void {
  loginNonce = nonce;
}

export async function createSigner(kid = "key-1"): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  return {
    jwks: { keys: [jwk] },
    sign(claims = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ sub: "user-1", iss: ISSUER, aud: CLIENT_ID, iat: now, exp: now + 300, nonce: loginNonce ?? "n-0S6_WzA2Mj", ...claims })
        .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
        .sign(privateKey);
    },
  };
}

/** A hand-made unsigned JWT (`alg: none`), which no verifier may accept. */
export function unsignedJwt(claims: JWTPayload): string {
  const b64u = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${b64u({ alg: "none", typ: "JWT" })}.${b64u(claims)}.`;
}
