// Stub identity providers for the provider-quirk tests (issue 8): real node:http servers on
// 127.0.0.1, started and closed by the tests, each answering like the provider it names (paths,
// discovery document, status codes, error bodies, encodings), and counting every request. The
// token proxy is mounted the same way, so both ends of every exchange are real HTTP.
//
// No DOM here: jsdom tests import it, and it must work the same from a node-environment test.
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { createTokenProxy, toNodeHandler, type TokenProxyOptions } from "react-sso-kit/server";
import { REDIRECT_URI } from "../../playground/idpShared.js";

/** The origin the jsdom "browser" runs on (vite.config.ts). */
export const APP_ORIGIN = "http://localhost:3000";
export { REDIRECT_URI };
export const COOKIE_SECRET = "provider-tests-cookie-secret-0123456789abcdef";

// ---------------------------------------------------------------------------
// A server that knows what it still holds open

/** One request a server received, body read. */
export interface Recorded {
  method: string;
  path: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
  form: URLSearchParams;
  /** What the server answered, once it has. */
  reply?: Reply | undefined;
}

export interface Reply {
  status: number;
  headers?: Record<string, string> | undefined;
  body?: string | undefined;
}

export interface LocalServer {
  readonly name: string;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Requests received and not yet answered. */
  inFlight(): number;
  /** Stops listening and waits until every socket is closed, at most 5 s (then it destroys them and throws). */
  close(): Promise<void>;
}

const CLOSE_BOUND_MS = 5000;

export async function listen(name: string, listener: RequestListener): Promise<LocalServer> {
  // Each socket with the promise of its end: the server's own close callback can come before the
  // sockets' "close" events, which wait for their handles to be released.
  const sockets = new Map<Socket, Promise<void>>();
  let active = 0;
  const server: Server = createServer((req, res) => {
    active++;
    res.once("close", () => active--);
    listener(req, res);
  });
  server.on("connection", (socket: Socket) => {
    sockets.set(socket, new Promise<void>((resolve) => socket.once("close", () => resolve(void sockets.delete(socket)))));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    name,
    origin: `http://127.0.0.1:${port}`,
    inFlight: () => active,
    async close() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      // Kept-alive sockets with no request on them go now; one still answering finishes first.
      server.closeIdleConnections();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name}: ${sockets.size} connection(s) still open ${CLOSE_BOUND_MS} ms after close()`)), CLOSE_BOUND_MS);
      });
      try {
        await Promise.race([closed.then(() => Promise.all(sockets.values())), bound]);
      } catch (err) {
        server.closeAllConnections();
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, reply.headers ?? {});
  res.end(reply.body ?? "");
}

/** What the test's servers left behind when they were closed; every number must be 0. */
export interface Leftover {
  name: string;
  inFlightAtClose: number;
}

/**
 * Owns the servers a test starts: `closeAll()` (in afterEach) closes them and reports the requests
 * still unanswered; a connection still open 5 s after close() fails it (see {@link LocalServer.close}).
 */
export function serverPool() {
  const servers: LocalServer[] = [];
  return {
    add<T extends LocalServer>(server: T): T {
      servers.push(server);
      return server;
    },
    async closeAll(): Promise<Leftover[]> {
      const report: Leftover[] = [];
      for (const server of servers.splice(0)) {
        const inFlightAtClose = server.inFlight();
        await server.close();
        report.push({ name: server.name, inFlightAtClose });
      }
      return report;
    },
  };
}

// ---------------------------------------------------------------------------
// The token proxy, mounted on node:http as an app's backend would

export interface ProxyServer extends LocalServer {
  /** The proxy route, for the browser's `tokenProxy`. */
  readonly url: string;
  /** Requests that reached the proxy route. */
  received(): number;
}

type ProxyOptions = Omit<TokenProxyOptions, "allowedOrigins" | "redirectUris"> & Partial<Pick<TokenProxyOptions, "allowedOrigins" | "redirectUris">>;

export async function startTokenProxy(options: ProxyOptions): Promise<ProxyServer> {
  const handler = toNodeHandler(
    createTokenProxy({
      allowedOrigins: [APP_ORIGIN],
      redirectUris: [REDIRECT_URI],
      ...(options.refreshToken !== "passthrough" && { cookie: { secrets: [COOKIE_SECRET] } }),
      ...options,
    }),
  );
  let received = 0;
  const server = await listen("token proxy", (req, res) => {
    if (new URL(req.url ?? "/", "http://proxy").pathname !== "/auth/token") return send(res, { status: 404 });
    received++;
    void handler(req, res);
  });
  return { ...server, url: `${server.origin}/auth/token`, received: () => received };
}

/** A server that only counts what reaches it: where a redirect must not lead. */
export async function startBystander(name = "another origin"): Promise<LocalServer & { requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = await listen(name, (req, res) => {
    void readBody(req).then((body) => {
      const url = new URL(req.url ?? "/", "http://bystander");
      requests.push({ method: req.method ?? "GET", path: url.pathname, url, headers: req.headers, body, form: new URLSearchParams(body) });
      send(res, { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ issuer: "http://bystander.invalid" }) });
    });
  });
  return Object.assign(server, { requests });
}

// ---------------------------------------------------------------------------
// Identity providers

export type RouteName = "discovery" | "authorize" | "token" | "revocation" | "jwks" | "endSession" | "userinfo";

export interface StubClient {
  id: string;
  /** Absent for a public client (PKCE only). */
  secret?: string | undefined;
  redirectUris?: readonly string[] | undefined;
  postLogoutRedirectUris?: readonly string[] | undefined;
}

/** Who signs in at the next authorization request. */
export interface StubUser {
  sub: string;
  claims?: Record<string, unknown> | undefined;
  /** Set last on this user's ID tokens (a forged `iss`, a missing `tid`: `{ tid: undefined }`). */
  idToken?: Record<string, unknown> | undefined;
}

/** A login as the token endpoint sees it. */
export interface Grant {
  clientId: string;
  scope: string;
  user: StubUser;
  nonce: string | undefined;
  /** The authorization request's parameters (audience, access_type, prompt…). */
  request: URLSearchParams;
  /** `authorization_code` or `refresh_token`. */
  kind: string;
}

export type Refusal = "invalid_client" | "invalid_code" | "invalid_refresh" | "invalid_request" | "unsupported_grant_type";

/** Everything that makes one provider differ from another. */
export interface ProviderProfile {
  name: string;
  /** The issuer's path on the stub's origin: `""` for the origin itself. */
  issuerPath: string;
  /** The issuer as the provider writes it (Auth0: with a trailing slash). @default origin + issuerPath */
  issuer?: ((origin: string) => string) | undefined;
  /** The `issuer` of the discovery document. @default the issuer */
  discoveredIssuer?: ((origin: string, issuer: string) => string) | undefined;
  /** The `iss` of an ID token. @default the issuer */
  idTokenIssuer?: ((issuer: string, user: StubUser) => string) | undefined;
  /** `"none"`: no discovery; `"django"`: served only with a trailing slash, the path without it is a 301 (APPEND_SLASH). */
  discovery: "openid" | "none" | "django";
  paths: { authorize: string; token: string } & Partial<Record<"revocation" | "jwks" | "endSession" | "userinfo", string>>;
  /** Extra discovery metadata. */
  metadata?: Record<string, unknown> | undefined;
  /** RFC 9207: `authorization_response_iss_parameter_supported` in discovery. */
  advertisesIss: boolean;
  /** Sends `iss` in successful authorization responses. */
  sendsIss: boolean;
  /** Sends `iss` in error authorization responses too. */
  sendsIssOnError: boolean;
  /** Further parameters of a successful authorization response (Keycloak's `session_state`). */
  callbackExtras?: (() => Record<string, string>) | undefined;
  /** How HTTP Basic credentials are read: URL-decoded (RFC 6749 §2.3.1), compared raw, or refused. */
  basic: "decoded" | "raw" | "refused";
  /** Accepts `client_secret` in the form (client_secret_post). */
  post: boolean;
  /** Answers cross-origin requests from the app (token, discovery, JWKS, revocation). */
  cors: boolean;
  issuesRefresh: (grant: Grant) => boolean;
  /** A new refresh token on every refresh, the old one retired. */
  rotates: boolean;
  /** Seconds. */
  expiresIn: number;
  /** Shapes a successful token response (Keycloak's extras, strings for numbers…). */
  tokenBody?: ((body: Record<string, unknown>, grant: Grant) => Record<string, unknown>) | undefined;
  refreshTokenFor?: ((grant: Grant) => Promise<string>) | undefined;
  /** How this provider says no at the token endpoint. */
  refuse: (why: Refusal) => Reply;
  /** `"github"`: a form-encoded body unless the request accepts application/json. */
  encoding: "json" | "github";
  /** The RP-initiated logout endpoint's answer. @default a redirect to a registered post_logout_redirect_uri */
  endSession?: ((req: Recorded, clients: readonly StubClient[]) => Reply) | undefined;
  clients: readonly StubClient[];
}

export interface StubProvider extends LocalServer {
  readonly profile: ProviderProfile;
  readonly issuer: string;
  /** Absolute URL of one of the provider's endpoints. */
  endpoint(route: Exclude<RouteName, "discovery">): string;
  /** Every request, in order. */
  readonly requests: Recorded[];
  /** Requests to a named endpoint (exact path). */
  calls(route: RouteName): Recorded[];
  count(route: RouteName): number;
  /** Requests to this exact path, whatever the method. */
  hits(path: string): number;
  /** Token requests of one grant type. */
  grants(kind: string): Recorded[];
  /** Who signs in next at the authorization endpoint. */
  user: StubUser;
  /** Set to make the next authorization requests end with this error (the IdP's own decision). */
  authorizationError: { error: string; error_description?: string } | undefined;
  /** Answers requests to `path` before the provider does (a gateway's HTML page, a redirect…); `undefined` lets them through. */
  override(path: string, answer: ((req: Recorded) => Reply | undefined) | undefined): void;
  /** Signs in as `user`: GETs the authorization URL and returns where the provider sends the browser back. */
  authorize(authorizationUrl: string): Promise<string>;
  /** Tokens handed out, newest last. */
  readonly issued: { access: string[]; refresh: string[] };
  /** Whether the provider still accepts this refresh token. */
  isLive(refreshToken: string): boolean;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { "content-type": "application/json;charset=utf-8", "cache-control": "no-store", pragma: "no-cache", ...headers },
  body: JSON.stringify(body),
});
export const oauthError = (status: number, error: string, description?: string): Reply =>
  json(status, description === undefined ? { error } : { error, error_description: description });
export const htmlPage = (status: number, title: string): Reply => ({
  status,
  headers: { "content-type": "text/html; charset=utf-8" },
  body: `<!DOCTYPE html><html><head><title>${title}</title></head><body><h1>${title}</h1><p>The request could not be processed.</p></body></html>`,
});

/** The credentials of an `Authorization: Basic` header, base64-decoded and nothing else. */
export function rawBasic(req: Recorded): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== "string" || !/^basic /i.test(header)) return undefined;
  return Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
}

/** application/x-www-form-urlencoded decoding (RFC 6749 appendix B): `+` is a space. */
const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, " "));
const random = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, "")}`;
const s256 = (verifier: string) => createHash("sha256").update(verifier).digest("base64url");

const ROUTE_NAMES = ["authorize", "token", "revocation", "jwks", "endSession", "userinfo"] as const;

export async function startProvider(profile: ProviderProfile): Promise<StubProvider> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const kid = random("kid");
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const requests: Recorded[] = [];
  const overrides = new Map<string, (req: Recorded) => Reply | undefined>();
  const codes = new Map<string, Grant & { redirectUri: string; challenge: string }>();
  const refreshTokens = new Map<string, Grant>();
  const issued = { access: [] as string[], refresh: [] as string[] };
  let origin = "";
  let issuer = "";
  const paths = new Map<string, RouteName>();

  const discoveryPath = () => `${profile.issuerPath}/.well-known/openid-configuration${profile.discovery === "django" ? "/" : ""}`;

  function cors(req: Recorded, reply: Reply): Reply {
    const from = req.headers.origin;
    if (!profile.cors || typeof from !== "string") return reply;
    return { ...reply, headers: { ...reply.headers, "access-control-allow-origin": from, vary: "Origin" } };
  }

  function discovery(): Reply {
    const url = (route: (typeof ROUTE_NAMES)[number]) => (profile.paths[route] === undefined ? undefined : `${origin}${profile.paths[route]}`);
    return json(200, {
      issuer: profile.discoveredIssuer?.(origin, issuer) ?? issuer,
      authorization_endpoint: url("authorize"),
      token_endpoint: url("token"),
      ...(url("revocation") && { revocation_endpoint: url("revocation") }),
      ...(url("endSession") && { end_session_endpoint: url("endSession") }),
      ...(url("jwks") && { jwks_uri: url("jwks") }),
      ...(url("userinfo") && { userinfo_endpoint: url("userinfo") }),
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: [...(profile.basic === "refused" ? [] : ["client_secret_basic"]), ...(profile.post ? ["client_secret_post"] : [])],
      ...(profile.advertisesIss && { authorization_response_iss_parameter_supported: true }),
      ...profile.metadata,
    });
  }

  function authorize(req: Recorded): Reply {
    const p = req.url.searchParams;
    const client = profile.clients.find((c) => c.id === p.get("client_id"));
    const redirectUri = p.get("redirect_uri");
    // An unknown client or redirect URI never goes back to the app (RFC 6749 §4.1.2.1).
    if (!client || redirectUri === null || !(client.redirectUris ?? [REDIRECT_URI]).includes(redirectUri)) return htmlPage(400, "Invalid client or redirect URI");
    const back = new URL(redirectUri);
    const state = p.get("state");
    const answer = (params: Record<string, string | undefined>, error: boolean) => {
      for (const [name, value] of Object.entries({ ...params, ...(state !== null && { state }), ...(!error && profile.callbackExtras?.()) })) {
        if (value !== undefined) back.searchParams.set(name, value);
      }
      if (error ? profile.sendsIssOnError : profile.sendsIss) back.searchParams.set("iss", issuer);
      return { status: 302, headers: { location: back.href } };
    };
    if (stub.authorizationError) return answer(stub.authorizationError, true);
    if (p.get("response_type") !== "code") return answer({ error: "unsupported_response_type" }, true);
    const challenge = p.get("code_challenge");
    if (p.get("code_challenge_method") !== "S256" || !challenge) return answer({ error: "invalid_request", error_description: "PKCE S256 is required" }, true);
    const code = random("code");
    codes.set(code, { clientId: client.id, redirectUri, challenge, scope: p.get("scope") ?? "", user: stub.user, nonce: p.get("nonce") ?? undefined, request: p, kind: "authorization_code" });
    return answer({ code }, false);
  }

  /** Who is calling the token or revocation endpoint. */
  function authenticate(req: Recorded): StubClient | Reply {
    const basic = rawBasic(req);
    let id: string | null;
    let secret: string | null;
    if (basic !== undefined) {
      if (profile.basic === "refused" || req.form.has("client_secret")) return profile.refuse("invalid_client");
      const colon = basic.indexOf(":");
      if (colon < 0) return profile.refuse("invalid_client");
      [id, secret] = [basic.slice(0, colon), basic.slice(colon + 1)];
      if (profile.basic === "decoded") {
        try {
          [id, secret] = [formDecode(id), formDecode(secret)];
        } catch {
          return profile.refuse("invalid_client");
        }
      }
    } else {
      if (req.form.has("client_secret") && !profile.post) return profile.refuse("invalid_client");
      [id, secret] = [req.form.get("client_id"), req.form.get("client_secret")];
    }
    const client = profile.clients.find((c) => c.id === id);
    if (!client || (client.secret ?? null) !== secret) return profile.refuse("invalid_client");
    const named = req.form.get("client_id");
    if (named !== null && named !== client.id) return profile.refuse("invalid_client");
    return client;
  }

  async function tokenResponse(grant: Grant, withRefresh: boolean): Promise<Reply> {
    const now = Math.floor(Date.now() / 1000);
    const accessToken = random("at");
    issued.access.push(accessToken);
    let body: Record<string, unknown> = { access_token: accessToken, token_type: "Bearer", expires_in: profile.expiresIn, scope: grant.scope };
    if (withRefresh) {
      const refreshToken = (await profile.refreshTokenFor?.(grant)) ?? random("rt");
      issued.refresh.push(refreshToken);
      refreshTokens.set(refreshToken, grant);
      body.refresh_token = refreshToken;
    }
    if (grant.scope.split(" ").includes("openid")) {
      const claims = {
        iss: profile.idTokenIssuer?.(issuer, grant.user) ?? issuer,
        sub: grant.user.sub,
        aud: grant.clientId,
        iat: now,
        exp: now + 300,
        ...(grant.kind === "authorization_code" && grant.nonce !== undefined && { nonce: grant.nonce }),
        ...grant.user.claims,
        ...grant.user.idToken,
      };
      body.id_token = await new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid, typ: "JWT" }).sign(privateKey);
    }
    return json(200, profile.tokenBody?.(body, grant) ?? body);
  }

  /** GitHub's token endpoint: whatever it answers is form-encoded unless the request accepts JSON. */
  function encode(req: Recorded, reply: Reply): Reply {
    if (profile.encoding !== "github" || String(req.headers.accept ?? "").includes("application/json") || reply.body === undefined) return reply;
    const body = JSON.parse(reply.body) as Record<string, unknown>;
    const form = new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)]));
    return { status: reply.status, headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" }, body: form.toString() };
  }

  async function token(req: Recorded): Promise<Reply> {
    if (req.method !== "POST") return oauthError(405, "invalid_request", "POST only");
    const client = authenticate(req);
    if ("status" in client) return client;
    // GitHub needs no grant_type: a code is exchanged, a refresh token refreshed.
    const implied = profile.encoding === "github" ? (req.form.has("refresh_token") ? "refresh_token" : "authorization_code") : null;
    const kind = req.form.get("grant_type") ?? implied;
    if (kind === "authorization_code") {
      const code = codes.get(req.form.get("code") ?? "");
      const verifier = req.form.get("code_verifier") ?? "";
      if (!code || code.clientId !== client.id || code.redirectUri !== req.form.get("redirect_uri") || s256(verifier) !== code.challenge) return profile.refuse("invalid_code");
      codes.delete(req.form.get("code") ?? "");
      return tokenResponse(code, profile.issuesRefresh(code));
    }
    if (kind === "refresh_token") {
      const presented = req.form.get("refresh_token") ?? "";
      const held = refreshTokens.get(presented);
      if (!held || held.clientId !== client.id) return profile.refuse("invalid_refresh");
      if (profile.rotates) refreshTokens.delete(presented);
      return tokenResponse({ ...held, kind: "refresh_token" }, profile.rotates);
    }
    return profile.refuse("unsupported_grant_type");
  }

  function revocation(req: Recorded): Reply {
    if (req.method !== "POST") return oauthError(405, "invalid_request", "POST only");
    const client = authenticate(req);
    if ("status" in client) return client;
    const presented = req.form.get("token") ?? "";
    if (refreshTokens.get(presented)?.clientId === client.id) refreshTokens.delete(presented);
    // RFC 7009 §2.2: 200 whether or not the token was valid.
    return { status: 200 };
  }

  function endSession(req: Recorded): Reply {
    if (profile.endSession) return profile.endSession(req, profile.clients);
    const target = req.url.searchParams.get("post_logout_redirect_uri");
    const client = profile.clients.find((c) => c.id === req.url.searchParams.get("client_id"));
    if (target !== null && client?.postLogoutRedirectUris?.includes(target)) return { status: 302, headers: { location: target } };
    return htmlPage(200, "You are signed out");
  }

  async function route(req: Recorded): Promise<Reply> {
    const override = overrides.get(req.path)?.(req);
    if (override) return override;
    if (req.method === "OPTIONS" && profile.cors) {
      return { status: 204, headers: { "access-control-allow-origin": String(req.headers.origin ?? "*"), "access-control-allow-methods": "GET, POST", "access-control-allow-headers": "content-type, authorization", vary: "Origin" } };
    }
    if (profile.discovery !== "none" && req.path === discoveryPath()) return cors(req, discovery());
    switch (paths.get(req.path)) {
      case "authorize":
        return authorize(req);
      case "token":
        return cors(req, encode(req, await token(req)));
      case "revocation":
        return cors(req, revocation(req));
      case "jwks":
        return cors(req, json(200, { keys: [jwk] }));
      case "endSession":
        return endSession(req);
      case "userinfo":
        return cors(req, json(200, { sub: stub.user.sub, ...stub.user.claims }));
      default:
        // Django's CommonMiddleware (APPEND_SLASH): a path that resolves only with a trailing slash is
        // a permanent redirect to it, whatever the method.
        if (profile.discovery === "django" && !req.path.endsWith("/") && (paths.has(`${req.path}/`) || discoveryPath() === `${req.path}/`)) {
          return { status: 301, headers: { location: `${req.path}/${req.url.search}` } };
        }
        return htmlPage(404, "Not Found");
    }
  }

  const server = await listen(profile.name, (req, res) => {
    void readBody(req)
      .then(async (body) => {
        const url = new URL(req.url ?? "/", origin);
        const recorded: Recorded = { method: req.method ?? "GET", path: url.pathname, url, headers: req.headers, body, form: new URLSearchParams(body) };
        requests.push(recorded);
        recorded.reply = await route(recorded);
        send(res, recorded.reply);
      })
      .catch((err: unknown) => send(res, { status: 500, headers: { "content-type": "text/plain" }, body: `stub ${profile.name} failed: ${String(err)}` }));
  });
  origin = server.origin;
  issuer = profile.issuer?.(origin) ?? `${origin}${profile.issuerPath}`;
  for (const name of ROUTE_NAMES) {
    const path = profile.paths[name];
    if (path !== undefined) paths.set(path, name);
  }
  const pathOf = (name: RouteName) => (name === "discovery" ? discoveryPath() : profile.paths[name]);

  const stub: StubProvider = {
    ...server,
    profile,
    issuer,
    endpoint(name) {
      const path = profile.paths[name];
      if (path === undefined) throw new Error(`${profile.name} has no ${name} endpoint`);
      return `${origin}${path}`;
    },
    requests,
    calls: (name) => requests.filter((r) => r.path === pathOf(name)),
    count: (name) => requests.filter((r) => r.path === pathOf(name)).length,
    hits: (path) => requests.filter((r) => r.path === path).length,
    grants: (kind) => requests.filter((r) => r.path === profile.paths.token && r.form.get("grant_type") === kind),
    user: { sub: "user-ada", claims: { name: "Ada Lovelace" } },
    authorizationError: undefined,
    override(path, answer) {
      if (answer) overrides.set(path, answer);
      else overrides.delete(path);
    },
    async authorize(authorizationUrl) {
      const response = await fetch(authorizationUrl, { redirect: "manual" });
      await response.body?.cancel();
      const location = response.headers.get("location");
      if (response.status !== 302 || location === null) throw new Error(`${profile.name}: the authorization request answered ${response.status}, not a redirect`);
      return location;
    },
    issued,
    isLive: (refreshToken) => refreshTokens.has(refreshToken),
  };
  return stub;
}

// ---------------------------------------------------------------------------
// The providers. Each says where its behaviour is documented.

export const CONFIDENTIAL: StubClient = { id: "web-app", secret: "web-app-secret-0123456789", postLogoutRedirectUris: [`${APP_ORIGIN}/`] };
export const PUBLIC: StubClient = { id: "spa", postLogoutRedirectUris: [`${APP_ORIGIN}/`] };

const offlineAccess = (grant: Grant) => grant.scope.split(" ").includes("offline_access");

/** A plain, standard OpenID provider; tests bend it with overrides. */
export function standard(overrides: Partial<ProviderProfile> = {}): ProviderProfile {
  return {
    name: "standard OpenID provider",
    issuerPath: "",
    discovery: "openid",
    paths: { authorize: "/authorize", token: "/token", revocation: "/revoke", jwks: "/jwks", endSession: "/logout", userinfo: "/userinfo" },
    advertisesIss: false,
    sendsIss: false,
    sendsIssOnError: false,
    basic: "decoded",
    post: true,
    cors: true,
    issuesRefresh: offlineAccess,
    rotates: true,
    expiresIn: 300,
    refuse: (why) =>
      why === "invalid_client"
        ? oauthError(401, "invalid_client", "Client authentication failed.")
        : why === "invalid_code" || why === "invalid_refresh"
          ? oauthError(400, "invalid_grant", "The grant is invalid or expired.")
          : oauthError(400, why),
    encoding: "json",
    clients: [CONFIDENTIAL, PUBLIC],
    ...overrides,
  };
}

/**
 * Auth0: the issuer has a trailing slash (`https://TENANT.auth0.com/`); a refresh token only with
 * `offline_access`; a bad code is `403 {"error":"invalid_grant","error_description":"Invalid
 * authorization code"}` (community.auth0.com/t/authorisation-code-flow-error-403/73029).
 */
export function auth0(overrides: Partial<ProviderProfile> = {}): ProviderProfile {
  return standard({
    name: "Auth0",
    issuer: (origin) => `${origin}/`,
    paths: { authorize: "/authorize", token: "/oauth/token", revocation: "/oauth/revoke", jwks: "/.well-known/jwks.json", endSession: "/oidc/logout", userinfo: "/userinfo" },
    refuse: (why) =>
      why === "invalid_code"
        ? oauthError(403, "invalid_grant", "Invalid authorization code")
        : why === "invalid_refresh"
          ? oauthError(403, "invalid_grant", "Unknown or invalid refresh token.")
          : why === "invalid_client"
            ? oauthError(401, "access_denied", "Unauthorized")
            : oauthError(400, why),
    expiresIn: 86400,
    ...overrides,
  });
}

/** Okta's custom authorization server `default`: issuer `https://DOMAIN/oauth2/default`, endpoints under `/v1/`, `offline_access` for refresh tokens. */
export function okta(overrides: Partial<ProviderProfile> = {}): ProviderProfile {
  const base = "/oauth2/default";
  return standard({
    name: "Okta",
    issuerPath: base,
    paths: { authorize: `${base}/v1/authorize`, token: `${base}/v1/token`, revocation: `${base}/v1/revoke`, jwks: `${base}/v1/keys`, endSession: `${base}/v1/logout`, userinfo: `${base}/v1/userinfo` },
    refuse: (why) =>
      why === "invalid_code"
        ? oauthError(400, "invalid_grant", "The authorization code is invalid or has expired.")
        : why === "invalid_refresh"
          ? oauthError(400, "invalid_grant", "The refresh token is invalid or expired.")
          : why === "invalid_client"
            ? oauthError(401, "invalid_client", "The client secret supplied for a confidential client is invalid.")
            : oauthError(400, why),
    expiresIn: 3600,
    ...overrides,
  });
}

/** ZITADEL: issuer = the instance's origin, `/oauth/v2/…` endpoints, rotating refresh tokens only with `offline_access` (help.zitadel.com). */
export function zitadel(overrides: Partial<ProviderProfile> = {}): ProviderProfile {
  return standard({
    name: "ZITADEL",
    paths: { authorize: "/oauth/v2/authorize", token: "/oauth/v2/token", revocation: "/oauth/v2/revoke", jwks: "/oauth/v2/keys", endSession: "/oidc/v1/end_session", userinfo: "/oidc/v1/userinfo" },
    expiresIn: 43200,
    ...overrides,
  });
}

/**
 * Keycloak (23 and later): `iss` and `session_state` in the authorization response, RFC 9207
 * advertised; token responses with `refresh_expires_in` and a refresh token that is a JWT with
 * its own `exp`; for `offline_access`, `refresh_expires_in: 0` and no `exp` (keycloak#8919,
 * keycloak#27201); a refused client is `401 unauthorized_client`.
 */
export function keycloak(overrides: Partial<ProviderProfile> & { ssoSessionIdle?: number } = {}): ProviderProfile {
  const { ssoSessionIdle = 1800, ...rest } = overrides;
  const base = "/realms/demo";
  const oidc = `${base}/protocol/openid-connect`;
  const secret = new TextEncoder().encode(randomUUID() + randomUUID());
  const sessionState = randomUUID();
  return standard({
    name: "Keycloak",
    issuerPath: base,
    paths: { authorize: `${oidc}/auth`, token: `${oidc}/token`, revocation: `${oidc}/revoke`, jwks: `${oidc}/certs`, endSession: `${oidc}/logout`, userinfo: `${oidc}/userinfo` },
    advertisesIss: true,
    sendsIss: true,
    sendsIssOnError: true,
    callbackExtras: () => ({ session_state: sessionState }),
    issuesRefresh: () => true,
    refreshTokenFor: (grant) => {
      const now = Math.floor(Date.now() / 1000);
      const offline = offlineAccess(grant);
      return new SignJWT({ typ: offline ? "Offline" : "Refresh", jti: randomUUID(), sub: grant.user.sub, azp: grant.clientId, iat: now, ...(!offline && { exp: now + ssoSessionIdle }) })
        .setProtectedHeader({ alg: "HS512", typ: "JWT" })
        .sign(secret);
    },
    tokenBody: (body, grant) => ({
      ...body,
      ...(body.refresh_token !== undefined && { refresh_expires_in: offlineAccess(grant) ? 0 : ssoSessionIdle }),
      "not-before-policy": 0,
      session_state: sessionState,
    }),
    refuse: (why) =>
      why === "invalid_code"
        ? oauthError(400, "invalid_grant", "Code not valid")
        : why === "invalid_refresh"
          ? oauthError(400, "invalid_grant", "Token is not active")
          : why === "invalid_client"
            ? oauthError(401, "unauthorized_client", "Invalid client or Invalid client credentials")
            : oauthError(400, why),
    ...rest,
  });
}

/**
 * Google: issuer = the origin, no `end_session_endpoint` (there is a `revocation_endpoint`); a
 * refresh token only with `access_type=offline`, and then only at a consent (`prompt=consent`, or
 * the user's first); refreshes never rotate it.
 */
export function google(overrides: Partial<ProviderProfile> = {}): ProviderProfile {
  const consented = new Set<string>();
  return standard({
    name: "Google",
    paths: { authorize: "/o/oauth2/v2/auth", token: "/token", revocation: "/revoke", jwks: "/oauth2/v3/certs", userinfo: "/v1/userinfo" },
    issuesRefresh: (grant) => {
      const key = `${grant.clientId}:${grant.user.sub}`;
      const consent = grant.request.get("prompt")?.split(" ").includes("consent") === true || !consented.has(key);
      consented.add(key);
      return grant.request.get("access_type") === "offline" && consent;
    },
    rotates: false,
    expiresIn: 3599,
    refuse: (why) =>
      why === "invalid_code" ? oauthError(400, "invalid_grant", "Malformed auth code.") : why === "invalid_refresh" ? oauthError(400, "invalid_grant", "Bad Request") : oauthError(401, "invalid_client", "Unauthorized"),
    ...overrides,
  });
}

/**
 * GitHub (plain OAuth 2.0, no discovery): `client_id`/`client_secret` as form parameters; the
 * token endpoint answers form-encoded unless `Accept: application/json`, and refuses with `200 OK`
 * and an error body (`bad_verification_code`, `incorrect_client_credentials`, `bad_refresh_token`);
 * `token_type` is `bearer` and `scope` comma-separated. With `expiring`, a GitHub App's user tokens:
 * `expires_in` 28800 and a rotating refresh token.
 */
export function github(overrides: Partial<ProviderProfile> & { expiring?: boolean } = {}): ProviderProfile {
  const { expiring = false, ...rest } = overrides;
  const docs = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";
  const refused = (error: string, description: string, anchor: string) => json(200, { error, error_description: description, error_uri: `${docs}/#${anchor}` });
  return standard({
    name: "GitHub",
    discovery: "none",
    paths: { authorize: "/login/oauth/authorize", token: "/login/oauth/access_token" },
    basic: "refused",
    cors: false,
    issuesRefresh: () => expiring,
    expiresIn: 28800,
    tokenBody: (body) => {
      const { access_token, refresh_token } = body;
      return expiring
        ? { access_token, expires_in: body.expires_in, refresh_token, refresh_token_expires_in: 15897600, scope: "", token_type: "bearer" }
        : { access_token, scope: String(body.scope).split(" ").join(","), token_type: "bearer" };
    },
    refuse: (why) =>
      why === "invalid_code"
        ? refused("bad_verification_code", "The code passed is incorrect or expired.", "bad-verification-code")
        : why === "invalid_refresh"
          ? refused("bad_refresh_token", "The refresh token passed is incorrect or expired.", "bad-refresh-token")
          : refused("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.", "incorrect-client-credentials"),
    encoding: "github",
    ...rest,
  });
}

/**
 * Microsoft Entra ID, multi-tenant (`…/common/v2.0`): the discovery document names the issuer
 * `<origin>/{tenantid}/v2.0` (for `https://login.microsoftonline.com`), each ID token's `iss` names
 * its own tenant, whose ID is the `tid` claim. No revocation endpoint; SPAs redeem codes directly.
 */
export function entra(overrides: Partial<ProviderProfile> = {}): ProviderProfile {
  return standard({
    name: "Microsoft Entra ID",
    issuerPath: "/common/v2.0",
    discoveredIssuer: (origin) => `${origin}/{tenantid}/v2.0`,
    idTokenIssuer: (issuer, user) => issuer.replace("/common/", `/${String(user.claims?.tid)}/`),
    paths: { authorize: "/common/oauth2/v2.0/authorize", token: "/common/oauth2/v2.0/token", jwks: "/common/discovery/v2.0/keys", endSession: "/common/oauth2/v2.0/logout", userinfo: "/oidc/userinfo" },
    expiresIn: 3599,
    refuse: (why) =>
      why === "invalid_code" || why === "invalid_refresh"
        ? oauthError(400, "invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.")
        : why === "invalid_client"
          ? oauthError(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
          : oauthError(400, why),
    ...overrides,
  });
}

/**
 * Django OAuth Toolkit under `/o`: every endpoint has a trailing slash, and Django's APPEND_SLASH
 * answers the path without it with a `301` (django-oauth-toolkit#1089, #1363), discovery included.
 */
export function djangoOAuthToolkit(overrides: Partial<ProviderProfile> = {}): ProviderProfile {
  return standard({
    name: "Django OAuth Toolkit",
    issuerPath: "/o",
    discovery: "django",
    paths: { authorize: "/o/authorize/", token: "/o/token/", revocation: "/o/revoke_token/", jwks: "/o/.well-known/jwks.json", endSession: "/o/logout/", userinfo: "/o/userinfo/" },
    issuesRefresh: () => true,
    expiresIn: 36000,
    ...overrides,
  });
}

/**
 * Amazon Cognito: issuer `https://cognito-idp.REGION.amazonaws.com/POOL_ID`, endpoints on the user
 * pool's domain; its `end_session_endpoint` (`/logout`) wants `client_id` and `logout_uri`, not
 * `post_logout_redirect_uri` (docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html).
 */
export function cognito(overrides: Partial<ProviderProfile> = {}): ProviderProfile {
  return standard({
    name: "Amazon Cognito",
    issuerPath: "/us-east-1_Example",
    paths: { authorize: "/oauth2/authorize", token: "/oauth2/token", revocation: "/oauth2/revoke", jwks: "/us-east-1_Example/.well-known/jwks.json", endSession: "/logout", userinfo: "/oauth2/userInfo" },
    issuesRefresh: () => true,
    rotates: false,
    expiresIn: 3600,
    endSession: (req, clients) => {
      const p = req.url.searchParams;
      const client = clients.find((c) => c.id === p.get("client_id"));
      const target = p.get("logout_uri");
      if (client && target !== null && client.postLogoutRedirectUris?.includes(target)) return { status: 302, headers: { location: target } };
      // Reported wording of the page (amplify-js#2423): a dead end for the user.
      return htmlPage(400, "Required String parameter 'redirect_uri' is not present");
    },
    ...overrides,
  });
}

/**
 * The Azure AD v1.0 token endpoint's numbers as strings (`"expires_in": "3599"`, `ext_expires_in`,
 * `expires_on`: MicrosoftDocs/azure-docs#54997) with `token_type` in lower case, no discovery.
 */
export function microsoftV1(overrides: Partial<ProviderProfile> & { expiresInText?: string } = {}): ProviderProfile {
  const { expiresInText = "3599", ...rest } = overrides;
  return standard({
    name: "Azure AD v1.0",
    discovery: "none",
    paths: { authorize: "/contoso.onmicrosoft.com/oauth2/authorize", token: "/contoso.onmicrosoft.com/oauth2/token" },
    issuesRefresh: () => true,
    tokenBody: (body) => {
      const now = Math.floor(Date.now() / 1000);
      return { ...body, token_type: "bearer", expires_in: expiresInText, ext_expires_in: expiresInText, expires_on: String(now + 3599), not_before: String(now), resource: "00000003-0000-0000-c000-000000000000" };
    },
    ...rest,
  });
}

/**
 * The server of issue 8: it compares the `id:secret` of HTTP Basic as received, without the
 * URL-decoding RFC 6749 §2.3.1 asks for (as spring-security-oauth#1826 reports of Spring Security
 * OAuth), and refuses with `403 unauthorized_client`.
 */
export function rawBasicServer(overrides: Partial<ProviderProfile> = {}): ProviderProfile {
  return standard({
    name: "a server that does not URL-decode Basic credentials",
    basic: "raw",
    post: false,
    refuse: (why) => (why === "invalid_client" ? oauthError(403, "unauthorized_client", "Client authentication failed") : oauthError(400, why === "invalid_code" || why === "invalid_refresh" ? "invalid_grant" : why)),
    ...overrides,
  });
}
