// A second, real authorization server for the tests: @jmondi/oauth2-server (a plain OAuth 2.0
// server in TypeScript, no discovery, no ID tokens) behind a node:http front on 127.0.0.1.
// Unlike oidc-provider it does not URL-decode HTTP Basic credentials, which is how the encoding
// of client_secret_basic is proven, and its access tokens are HS256 JWTs it alone can check:
// resource servers must introspect them.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  AuthorizationServer,
  DateInterval,
  OAuthException,
  OAuthRequest,
  guardAgainstInvalidClientScopes,
  type OAuthAuthCode,
  type OAuthAuthCodeRepository,
  type OAuthClient,
  type OAuthClientRepository,
  type OAuthResponse,
  type OAuthScope,
  type OAuthScopeRepository,
  type OAuthToken,
  type OAuthTokenRepository,
  type OAuthUser,
  type OAuthUserRepository,
} from "@jmondi/oauth2-server";
import { handleVanillaError } from "@jmondi/oauth2-server/vanilla";

/** The confidential client; its ID and secret hold `-` and `.`, which form-encoded Basic credentials turn into `%2D` and `%2E`. */
export const JMONDI_CONFIDENTIAL = { id: "spa-confidential.app", secret: "s3cr3t-with.dots" } as const;
/** A public client (PKCE, no secret). */
export const JMONDI_PUBLIC = { id: "spa-public" } as const;
/** A service: client credentials only. */
export const JMONDI_SERVICE = { id: "reports-service.internal", secret: "rep0rts-service.s3cret" } as const;
/** The API's own registration, which it uses to introspect tokens. */
export const JMONDI_RESOURCE_SERVER = { id: "orders-api", secret: "orders-api.s3cret" } as const;
/** The one user: the authorize endpoint signs them in without asking; the password grant knows their password. */
export const JMONDI_USER = { id: "ada", password: "correct horse battery staple" } as const;
/** Every scope the server knows. */
export const JMONDI_SCOPES = ["orders:read", "orders:write", "reports:read", "offline_access"] as const;

/** Options of {@link startJmondiServer}. */
export interface JmondiServerOptions {
  /** Origins allowed by CORS (preflights and responses), and whose `/callback` is a redirect URI of both SPA clients. @default ["http://localhost:3000"] */
  appOrigins?: readonly string[];
  /** More redirect URIs for both SPA clients. */
  redirectUris?: readonly string[];
  /** Access-token lifetime, in seconds. @default 300 */
  accessTokenTtl?: number;
  /** Refresh-token lifetime, in seconds. @default 3600 */
  refreshTokenTtl?: number;
  /** Set `iss` in the tokens to the server's URL. @default true */
  issuer?: boolean;
}

/** Requests the server answered, by endpoint; token requests also by `grant_type`. */
export interface JmondiStats {
  authorize: number;
  token: { total: number; authorization_code: number; refresh_token: number; client_credentials: number; password: number; other: number };
  /** Token requests answered with a status other than 200. */
  tokenErrors: number;
  revoke: number;
  introspect: number;
  /** CORS preflights (OPTIONS), on any path. */
  preflight: number;
}

/** A running server; {@link JmondiServer.close} releases it. */
export interface JmondiServer {
  /** `http://127.0.0.1:<port>`, no trailing slash; also the tokens' `iss` unless `issuer: false`. */
  url: string;
  endpoints: {
    /** GET: signs {@link JMONDI_USER} in and approves at once (authorization code with PKCE S256). */
    authorize: string;
    token: string;
    /** RFC 7009; refresh tokens need `token_type_hint=refresh_token` here. */
    revoke: string;
    /** RFC 7662; the caller authenticates as a client allowed client_credentials. */
    introspect: string;
  };
  /** The redirect URIs both SPA clients accept. */
  redirectUris: readonly string[];
  stats(): JmondiStats;
  /** Zeroes the counters. */
  resetStats(): void;
  /** Closes the server and every socket it holds, keep-alive ones included. */
  close(): Promise<void>;
}

const emptyStats = (): JmondiStats => ({
  authorize: 0,
  token: { total: 0, authorization_code: 0, refresh_token: 0, client_credentials: 0, password: 0, other: 0 },
  tokenErrors: 0,
  revoke: 0,
  introspect: 0,
  preflight: 0,
});

const MAX_BODY_BYTES = 64 * 1024;

/**
 * Starts @jmondi/oauth2-server on 127.0.0.1 (an ephemeral port) with in-memory repositories:
 * authorization code with PKCE (through an authorize endpoint that signs {@link JMONDI_USER} in
 * and approves without a page), refresh with rotation (the previous refresh and access tokens
 * are revoked), client credentials, password, introspection and revocation.
 */
export async function startJmondiServer(options: JmondiServerOptions = {}): Promise<JmondiServer> {
  const appOrigins = new Set(options.appOrigins ?? ["http://localhost:3000"]);
  const redirectUris = [...[...appOrigins].map((origin) => `${origin}/callback`), ...(options.redirectUris ?? [])];
  const accessTtl = options.accessTokenTtl ?? 300;
  const refreshTtl = options.refreshTokenTtl ?? 3600;

  const scopes = new Map<string, OAuthScope>(JMONDI_SCOPES.map((name) => [name, { name }]));
  const allScopes = [...scopes.values()];
  const clients = new Map<string, OAuthClient>([
    [
      JMONDI_CONFIDENTIAL.id,
      { id: JMONDI_CONFIDENTIAL.id, name: "SPA (confidential)", secret: JMONDI_CONFIDENTIAL.secret, redirectUris, allowedGrants: ["authorization_code", "refresh_token", "client_credentials", "password"], scopes: allScopes },
    ],
    // client_credentials is listed because the server checks it for revocation and introspection; the front refuses the grant itself to clients without a secret.
    [JMONDI_PUBLIC.id, { id: JMONDI_PUBLIC.id, name: "SPA (public)", secret: null, redirectUris, allowedGrants: ["authorization_code", "refresh_token", "client_credentials"], scopes: allScopes }],
    [JMONDI_SERVICE.id, { id: JMONDI_SERVICE.id, name: "Reports service", secret: JMONDI_SERVICE.secret, redirectUris: [], allowedGrants: ["client_credentials"], scopes: allScopes }],
    [JMONDI_RESOURCE_SERVER.id, { id: JMONDI_RESOURCE_SERVER.id, name: "Orders API", secret: JMONDI_RESOURCE_SERVER.secret, redirectUris: [], allowedGrants: ["client_credentials"], scopes: [] }],
  ]);
  const user: OAuthUser = { id: JMONDI_USER.id };

  const clientRepository: OAuthClientRepository = {
    async getByIdentifier(clientId) {
      const client = clients.get(clientId);
      if (!client) throw OAuthException.invalidClient("Unknown client.");
      return client;
    },
    async isClientValid(grantType, client, clientSecret) {
      if (client.secret && client.secret !== clientSecret) return false;
      return client.allowedGrants.includes(grantType);
    },
  };

  const tokens = new Set<OAuthToken>();
  const revoked = new WeakSet<OAuthToken>();
  const tokenRepository: OAuthTokenRepository = {
    async issueToken(client, tokenScopes, tokenUser) {
      return {
        accessToken: randomUUID(),
        accessTokenExpiresAt: new Date(Date.now() + accessTtl * 1000),
        refreshToken: null,
        refreshTokenExpiresAt: null,
        client,
        user: tokenUser ?? null,
        scopes: tokenScopes,
      };
    },
    async issueRefreshToken(token) {
      token.refreshToken = randomUUID();
      token.refreshTokenExpiresAt = new Date(Date.now() + refreshTtl * 1000);
      return token;
    },
    async persist(token) {
      tokens.add(token);
    },
    async revoke(token) {
      // Introspection reports `active` from these dates.
      revoked.add(token);
      token.accessTokenExpiresAt = new Date(0);
      if (token.refreshToken) token.refreshTokenExpiresAt = new Date(0);
    },
    async revokeDescendantsOf(authCodeId) {
      for (const token of tokens) if (token.originatingAuthCodeId === authCodeId) await tokenRepository.revoke(token);
    },
    async isRefreshTokenRevoked(token) {
      return revoked.has(token) || (token.refreshTokenExpiresAt?.getTime() ?? 0) <= Date.now();
    },
    async getByRefreshToken(refreshToken) {
      for (const token of tokens) if (token.refreshToken === refreshToken) return token;
      throw OAuthException.invalidGrant("Unknown refresh token.");
    },
    async getByAccessToken(accessToken) {
      for (const token of tokens) if (token.accessToken === accessToken) return token;
      throw OAuthException.invalidGrant("Unknown access token.");
    },
  };

  const codes = new Map<string, OAuthAuthCode>();
  const usedCodes = new Set<string>();
  const authCodeRepository: OAuthAuthCodeRepository = {
    async getByIdentifier(code) {
      const found = codes.get(code);
      if (!found) throw OAuthException.invalidGrant("Unknown authorization code.");
      return found;
    },
    issueAuthCode(client, codeUser, codeScopes) {
      return { code: randomUUID(), client, user: codeUser ?? null, scopes: codeScopes, expiresAt: new Date(Date.now() + 600_000) };
    },
    async persist(authCode) {
      codes.set(authCode.code, authCode);
    },
    async isRevoked(code) {
      return usedCodes.has(code);
    },
    async revoke(code) {
      usedCodes.add(code);
    },
  };

  const scopeRepository: OAuthScopeRepository = {
    async getAllByIdentifiers(names) {
      return names.flatMap((name) => scopes.get(name) ?? []);
    },
    async finalize(requested, _grant, client) {
      guardAgainstInvalidClientScopes(client, requested);
      return requested;
    },
  };

  const userRepository: OAuthUserRepository = {
    async getUserByCredentials(identifier, password) {
      if (identifier !== JMONDI_USER.id) return undefined;
      // The authorization code grant looks the user up without a password; the password grant checks it.
      if (password !== undefined && password !== JMONDI_USER.password) return undefined;
      return user;
    },
  };

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const authorizationServer = new AuthorizationServer(clientRepository, tokenRepository, scopeRepository, randomUUID(), {
    requiresPKCE: true,
    requiresS256: true,
    ...(options.issuer === false ? {} : { issuer: url }),
  });
  const ttl = new DateInterval(`${accessTtl}s`);
  authorizationServer.enableGrantTypes(
    ["client_credentials", ttl],
    ["refresh_token", ttl],
    [{ grant: "authorization_code", authCodeRepository, userRepository }, ttl],
    [{ grant: "password", userRepository }, ttl],
  );

  let stats = emptyStats();

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    const cors: Record<string, string> = { vary: "Origin" };
    if (origin !== undefined && appOrigins.has(origin)) cors["access-control-allow-origin"] = origin;
    const requestUrl = new URL(req.url ?? "/", url);
    const path = requestUrl.pathname;

    if (req.method === "OPTIONS") {
      stats.preflight += 1;
      res.writeHead(204, {
        ...cors,
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-allow-headers": "authorization, content-type",
        "access-control-max-age": "600",
      });
      res.end();
      return;
    }

    let body: Record<string, unknown> = {};
    let response: OAuthResponse | Awaited<ReturnType<AuthorizationServer["respondToAccessTokenRequest"]>>;
    try {
      if (req.method === "POST") body = await readForm(req);
      const request = new OAuthRequest({ headers: { ...req.headers } as Record<string, unknown>, query: Object.fromEntries(requestUrl.searchParams), body });
      if (path === "/authorize" && req.method === "GET") {
        stats.authorize += 1;
        const authorization = await authorizationServer.validateAuthorizationRequest(request);
        authorization.user = user;
        authorization.isAuthorizationApproved = true;
        response = await authorizationServer.completeAuthorizationRequest(authorization);
      } else if (path === "/token" && req.method === "POST") {
        const grantType = typeof body.grant_type === "string" ? body.grant_type : "";
        const bucket = grantType in stats.token && grantType !== "total" ? (grantType as keyof JmondiStats["token"]) : "other";
        stats.token[bucket] += 1;
        stats.token.total += 1;
        if (grantType === "client_credentials" && !presentsSecret(req, body)) throw OAuthException.invalidClient("client_credentials needs a confidential client.");
        response = await authorizationServer.respondToAccessTokenRequest(request);
      } else if (path === "/token/revoke" && req.method === "POST") {
        stats.revoke += 1;
        response = await authorizationServer.revoke(request);
      } else if (path === "/token/introspect" && req.method === "POST") {
        stats.introspect += 1;
        response = await authorizationServer.introspect(request);
      } else {
        res.writeHead(404, { ...cors, "content-type": "application/json" }).end(JSON.stringify({ error: "not_found" }));
        return;
      }
    } catch (err) {
      response = handleVanillaError(err);
    }
    if (path === "/token" && response.status !== 200) stats.tokenErrors += 1;
    if (response.status === 302) {
      res.writeHead(302, { ...cors, location: String(response.headers.location) }).end();
      return;
    }
    const text = JSON.stringify(response.body);
    res.writeHead(response.status, { "content-type": "application/json", "cache-control": "no-store", ...response.headers, ...cors });
    res.end(text);
  }

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: "server_error", error_description: String(err) }));
    });
  });

  return {
    url,
    endpoints: { authorize: `${url}/authorize`, token: `${url}/token`, revoke: `${url}/token/revoke`, introspect: `${url}/token/introspect` },
    redirectUris,
    stats: () => structuredClone(stats),
    resetStats: () => {
      stats = emptyStats();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A client secret in the body or in HTTP Basic credentials. */
function presentsSecret(req: IncomingMessage, body: Record<string, unknown>): boolean {
  if (typeof body.client_secret === "string" && body.client_secret !== "") return true;
  const header = req.headers.authorization ?? "";
  return /^Basic /i.test(header) && Buffer.from(header.slice(6), "base64").toString("binary").includes(":");
}

/** The form (or JSON) body, as @jmondi/oauth2-server expects it: names to values. */
async function readForm(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw OAuthException.badRequest("The body is too large.");
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim();
  if (type === "application/json") return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  return Object.fromEntries(new URLSearchParams(text));
}
