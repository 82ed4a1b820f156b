// The playground's backend: the token proxy from react-sso-kit/server, an API guarded by its
// resource-server guard, and a route that calls another service with a token of the backend's own.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt } from "jose";
import {
  AuthError,
  AuthErrorCode,
  createOAuthClient,
  createTokenProxy,
  createTokenVerifier,
  requireAuth,
  toNodeHandler,
  type AuthenticatedRequest,
  type AuthInfo,
  type TokenVerifier,
} from "react-sso-kit/server";
import { SUMMARY_PATH } from "./reports.js";

export interface BackendOptions {
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  /** Origins of the app (the Vite server): the only ones the proxy answers. */
  appOrigins: string[];
  redirectUris: string[];
  cookieSecret: string;
  /**
   * The API's audience, and the scopes `/api/me` requires: the routes under `/api/` then take
   * only JWT access tokens for it, checked with `createTokenVerifier` and `requireAuth`. Without
   * it, `/api/me` asks the IdP's userinfo endpoint whether the token is valid (a real IdP that
   * issues this app no JWTs for an API of yours), and the playground's other routes are off.
   */
  api?: { audience: string; scopes: readonly string[] } | undefined;
  /** The reports service `/api/report` calls, and the backend's own client at the IdP for its tokens. */
  reports?: { url: string; audience: string; scope: string; clientId: string; clientSecret: string } | undefined;
  port?: number;
  host?: string;
}

/** What the backend has answered since it started (or since `reset()`), by route. */
export interface BackendStats {
  /** Requests the token proxy received, whatever it answered. */
  proxy: number;
  /** `GET /api/me`, by status answered (`"200"`, `"401"`…). */
  me: Record<string, number>;
  /** `GET /api/report`, by status answered. */
  report: Record<string, number>;
  /** Token requests the backend's own client (createOAuthClient) made to the IdP. */
  serviceTokenRequests: number;
}

export interface Backend {
  url: string;
  stats(): BackendStats;
  /** Counts from zero, and a new service client: its token cache starts empty, as after a restart. */
  reset(): void;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers });
  res.end(JSON.stringify(body, null, 2));
}

const REVOKED = "The access token was revoked.";

/**
 * Access tokens revoked before they expire. A JWT is checked by its signature, without asking the
 * IdP, so an API that must stop one early has to remember it (oidc-provider's revocation endpoint
 * refuses JWT access tokens: unsupported_token_type). Kept by SHA-256, until the token expires.
 */
class RevokedTokens {
  readonly #until = new Map<string, number>();

  add(token: string, expiresAt: number): void {
    this.#until.set(digest(token), expiresAt);
  }

  has(token: string): boolean {
    const now = Date.now();
    for (const [key, until] of this.#until) if (until <= now) this.#until.delete(key);
    return this.#until.has(digest(token));
  }
}

const digest = (token: string) => createHash("sha256").update(token).digest("base64url");

/** The guard's verifier, which also refuses revoked tokens, with the answer RFC 6750 §3 gives for them. */
function refusingRevoked(verifier: TokenVerifier, revoked: RevokedTokens): TokenVerifier {
  return {
    async verify(request, options) {
      const auth = await verifier.verify(request, options);
      if (revoked.has(auth.token)) {
        throw new AuthError(AuthErrorCode.InvalidToken, REVOKED, {
          status: 401,
          error: AuthErrorCode.InvalidToken,
          errorDescription: REVOKED,
          wwwAuthenticate: `Bearer error="invalid_token", error_description="${REVOKED}"`,
        });
      }
      return auth;
    },
  };
}

/** The last debug lines of the backend's OAuth client, and which of them came after a mark. */
class DebugLog {
  static readonly KEEP = 50;
  #lines: string[] = [];
  #count = 0;

  add(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > DebugLog.KEEP) this.#lines.shift();
    this.#count += 1;
  }

  mark(): number {
    return this.#count;
  }

  since(mark: number): string[] {
    return this.#lines.slice(Math.max(0, this.#lines.length - (this.#count - mark)));
  }
}

/** Runs `handler` once `guard` let the request through, with what its token says. */
function guarded(
  guard: ReturnType<typeof requireAuth>,
  handler: (req: IncomingMessage, res: ServerResponse, auth: AuthInfo) => Promise<void> | void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) =>
    guard(req, res, () => {
      Promise.resolve(handler(req, res, (req as AuthenticatedRequest).auth)).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { error: "server_error" });
        else res.destroy();
      });
    });
}

/** Without a guard: the IdP's userinfo endpoint accepts the token only while it is valid. */
async function meByUserinfo(req: IncomingMessage, res: ServerResponse, userinfo: Promise<string>): Promise<void> {
  const [scheme, token] = (req.headers.authorization ?? "").split(" ");
  // RFC 6750 §3: no credentials get a bare challenge; a refused token, invalid_token (refresh and retry).
  if (scheme?.toLowerCase() !== "bearer" || !token) {
    return sendJson(res, 401, { error: "login_required", error_description: "A bearer token is required." }, { "WWW-Authenticate": "Bearer" });
  }
  const answer = await fetch(await userinfo, { headers: { Authorization: `Bearer ${token}` } }).catch(() => undefined);
  if (!answer) return sendJson(res, 503, { error: "temporarily_unavailable" });
  if (!answer.ok) {
    const description = "The token was rejected by the identity provider.";
    return sendJson(res, 401, { error: "invalid_token", error_description: description }, { "WWW-Authenticate": `Bearer error="invalid_token", error_description="${description}"` });
  }
  const claims = (await answer.json()) as Record<string, unknown>;
  sendJson(res, 200, { message: "Hello from the protected API", checkedBy: "the IdP's userinfo endpoint", sub: claims.sub, user: claims });
}

/**
 * `GET /api/report`, for a signed-in user: the backend calls the reports service with a token of
 * its own identity at the IdP (client credentials), which getAccessToken caches. Every request
 * that client makes to the IdP arrives as one debug line, so each answer can say what it cost.
 */
function reportRoute(
  issuer: string,
  reports: NonNullable<BackendOptions["reports"]>,
  guard: ReturnType<typeof requireAuth>,
  onTokenRequest: () => void,
): { handle: (req: IncomingMessage, res: ServerResponse) => void; reset: () => void } {
  const idpLog = new DebugLog();
  const newClient = () =>
    createOAuthClient({
      issuer,
      clientId: reports.clientId,
      clientSecret: reports.clientSecret,
      debug: (line) => {
        idpLog.add(line);
        if (isTokenRequest(line)) onTokenRequest();
      },
    });
  let client = newClient();
  const handle = guarded(guard, async (_req, res) => {
    const mark = idpLog.mark();
    const token = await client.getAccessToken({ scope: reports.scope, resource: reports.audience });
    const idpRequests = idpLog.since(mark);
    const answer = await fetch(`${reports.url}${SUMMARY_PATH}`, { headers: { Authorization: `Bearer ${token}` } });
    const exp = decodeJwt(token).exp;
    sendJson(res, answer.ok ? 200 : 502, {
      reportsService: { status: answer.status, body: (await answer.json()) as unknown },
      // What getAccessToken cost at the IdP: nothing while its cached token stays valid.
      tokenRequests: idpRequests.filter(isTokenRequest).length,
      idpRequests,
      serviceTokenExpiresAt: exp === undefined ? undefined : new Date(exp * 1000).toISOString(),
    });
  });
  return {
    handle,
    reset: () => {
      client = newClient();
    },
  };
}

/** Discovery is a GET; the client's only POSTs go to the token endpoint. */
const isTokenRequest = (line: string) => line.startsWith("react-sso POST ");

export async function startBackend(options: BackendOptions): Promise<Backend> {
  const proxy = createTokenProxy({
    issuer: options.issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    allowedOrigins: options.appOrigins,
    redirectUris: options.redirectUris,
    cookie: { secrets: [options.cookieSecret] },
  });
  const proxyHandler = toNodeHandler(proxy);

  const emptyStats = (): BackendStats => ({ proxy: 0, me: {}, report: {}, serviceTokenRequests: 0 });
  let stats = emptyStats();
  const countAnswer = (res: ServerResponse, route: "me" | "report") =>
    res.once("finish", () => {
      stats[route][res.statusCode] = (stats[route][res.statusCode] ?? 0) + 1;
    });

  const revoked = new RevokedTokens();
  const api = options.api;
  const verifier = api && refusingRevoked(createTokenVerifier({ issuer: options.issuer, audience: api.audience }), revoked);
  const userinfo = api
    ? undefined
    : fetch(`${options.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`)
        .then((r) => r.json() as Promise<{ userinfo_endpoint: string }>)
        .then((doc) => doc.userinfo_endpoint);
  userinfo?.catch(() => undefined);

  const me = verifier
    ? guarded(requireAuth(verifier, { scopes: api.scopes }), (_req, res, auth) =>
        sendJson(res, 200, {
          message: "Hello from the protected API",
          checkedBy: "createTokenVerifier + requireAuth",
          sub: auth.sub,
          clientId: auth.clientId,
          scopes: auth.scopes,
          aud: auth.claims.aud,
          expiresAt: typeof auth.claims.exp === "number" ? new Date(auth.claims.exp * 1000).toISOString() : undefined,
        }),
      )
    : (req: IncomingMessage, res: ServerResponse) =>
        void meByUserinfo(req, res, userinfo as Promise<string>).catch(() => {
          if (!res.headersSent) sendJson(res, 500, { error: "server_error" });
        });

  // Playground only: lets the app revoke its own access token here, to watch authFetch recover.
  const revoke = verifier
    ? guarded(requireAuth(verifier), (_req, res, auth) => {
        // The guard takes no JWT without an exp.
        const expiresAt = Number(auth.claims.exp) * 1000;
        revoked.add(auth.token, expiresAt);
        sendJson(res, 200, { revoked: true, until: new Date(expiresAt).toISOString() });
      })
    : undefined;

  const reports = options.reports && verifier ? reportRoute(options.issuer, options.reports, requireAuth(verifier, { scopes: api.scopes }), () => stats.serviceTokenRequests++) : undefined;

  const unavailable = (res: ServerResponse, what: string, needs: string) => sendJson(res, 501, { error: "not_available", error_description: `${what} needs ${needs}.` });

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://backend").pathname;
    if (path === "/auth/token") {
      stats.proxy++;
      return void proxyHandler(req, res);
    }
    if (path === "/api/me" && req.method === "GET") {
      countAnswer(res, "me");
      return me(req, res);
    }
    if (path === "/api/report" && req.method === "GET") {
      countAnswer(res, "report");
      return reports ? reports.handle(req, res) : unavailable(res, "The service-to-service call", "the local IdP");
    }
    if (path === "/api/playground/revoke" && req.method === "POST") {
      return revoke ? revoke(req, res) : unavailable(res, "Revoking an access token here", "the guard: the local IdP, or SSO_API_AUDIENCE with SSO_ISSUER");
    }
    sendJson(res, 404, { error: "not_found" });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    stats: () => structuredClone(stats),
    reset: () => {
      stats = emptyStats();
      reports?.reset();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
