// oidc-provider set up as an API's authorization server, for the resource-server guard and the
// server-side client: client credentials, introspection, revocation and resource indicators,
// with JWT access tokens for the API audiences and opaque ones for another. Keys can be rotated
// while it runs (a new signing key first, the old one still listed), as an IdP does.
//
// Run it in a Node environment (`// @vitest-environment node`): jsdom's typed arrays break jose
// inside oidc-provider.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import type { ClientMetadata, Configuration, Provider } from "oidc-provider";

/** JWT access tokens (RS256), scopes orders:read and orders:write. */
export const API_AUDIENCE = "https://api.example.test";
/** Another API's JWT tokens: a foreign audience for {@link API_AUDIENCE}'s verifier. */
export const OTHER_AUDIENCE = "https://other-api.example.test";
/** Opaque access tokens, checked by introspection. */
export const OPAQUE_AUDIENCE = "https://opaque-api.example.test";
/** JWT access tokens that live 1 s: for expiry, without forging anything. */
export const SHORT_AUDIENCE = "https://short-api.example.test";

/** Client credentials; the secret holds `+`, `%` and `:`, which must stay encoded in HTTP Basic. */
export const SERVICE_CLIENT = { id: "reports-service", secret: "rep0rts-s3cret.v1+plus%25:colon" } as const;
/** The API's registration, for introspection. */
export const RESOURCE_SERVER_CLIENT = { id: "orders-api", secret: "orders-api.s3cret" } as const;
/** A confidential web app: authorization code with PKCE, refresh tokens, ID tokens. */
export const WEB_CLIENT = { id: "web-app", secret: "web-app.s3cret-value", redirectUri: "http://localhost:3000/callback" } as const;

const SCOPES = ["openid", "offline_access", "orders:read", "orders:write", "reports:read"];

/** Options of {@link startOidcServer}. */
export interface OidcServerOptions {
  /** Client authentication methods the server accepts and lists in discovery. @default oidc-provider's (basic, post, JWT methods, none) */
  clientAuthMethods?: string[];
}

/** What one server has answered, by endpoint; the token endpoint also by grant type. */
export type OidcCounts = Record<string, number>;

export interface OidcServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  issuer: string;
  endpoints: { token: string; jwks: string; introspection: string; revocation: string; authorization: string };
  /** Requests answered so far: `discovery`, `jwks`, `token`, `token:client_credentials`…, `introspection`, `revocation`, `authorization`. */
  counts(): OidcCounts;
  resetCounts(): void;
  /** The public JWKS the server currently serves. */
  publicJwks(): { keys: JWK[] };
  /** Starts signing with a new key (new `kid`); the previous keys stay in the JWKS. */
  rotateKeys(): Promise<void>;
  close(): Promise<void>;
}

const ROUTES = {
  authorization: "/auth",
  token: "/token",
  jwks: "/jwks",
  introspection: "/token/introspection",
  revocation: "/token/revocation",
  end_session: "/session/end",
  userinfo: "/me",
} as const;

let keyCounter = 0;

async function signingKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  keyCounter += 1;
  return { ...(await exportJWK(privateKey)), kid: `key-${keyCounter}-${Date.now().toString(36)}`, alg: "RS256", use: "sig" };
}

function publicPart(jwk: JWK): JWK {
  const { kty, n, e, kid, alg, use } = jwk;
  return { kty, n, e, kid, alg, use } as JWK;
}

let noticesSilenced = false;

/** oidc-provider prints development notices (dev keys, memory adapter, Node 20) on every start. */
function silenceNotices(): void {
  if (noticesSilenced) return;
  noticesSilenced = true;
  for (const level of ["warn", "info"] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      if (!(typeof args[0] === "string" && /oidc-provider (WARNING|NOTICE):/.test(args[0]))) original(...args);
    };
  }
}

interface ProviderModule {
  default: new (issuer: string, configuration: Configuration) => Provider;
  errors: { InvalidTarget: new (description?: string) => Error };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Starts oidc-provider on 127.0.0.1 (an ephemeral port). Its clients are {@link SERVICE_CLIENT},
 * {@link RESOURCE_SERVER_CLIENT} and {@link WEB_CLIENT}; its resource servers the four
 * `*_AUDIENCE` constants (pass one as `resource` to get a token for it).
 */
export async function startOidcServer(options: OidcServerOptions = {}): Promise<OidcServer> {
  silenceNotices();
  const { default: ProviderClass, errors } = (await import("oidc-provider")) as unknown as ProviderModule;
  const httpServer = createServer();
  const issuer = `http://127.0.0.1:${await listen(httpServer)}`;

  const resourceServers: Record<string, Record<string, unknown>> = {
    [API_AUDIENCE]: { audience: API_AUDIENCE, scope: "orders:read orders:write", accessTokenFormat: "jwt", accessTokenTTL: 300, jwt: { sign: { alg: "RS256" } } },
    [OTHER_AUDIENCE]: { audience: OTHER_AUDIENCE, scope: "orders:read orders:write", accessTokenFormat: "jwt", accessTokenTTL: 300, jwt: { sign: { alg: "RS256" } } },
    [OPAQUE_AUDIENCE]: { audience: OPAQUE_AUDIENCE, scope: "orders:read orders:write", accessTokenFormat: "opaque", accessTokenTTL: 300 },
    [SHORT_AUDIENCE]: { audience: SHORT_AUDIENCE, scope: "orders:read orders:write", accessTokenFormat: "jwt", accessTokenTTL: 1, jwt: { sign: { alg: "RS256" } } },
  };

  const clients: ClientMetadata[] = [
    {
      client_id: SERVICE_CLIENT.id,
      client_secret: SERVICE_CLIENT.secret,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      scope: "orders:read orders:write reports:read",
    },
    { client_id: RESOURCE_SERVER_CLIENT.id, client_secret: RESOURCE_SERVER_CLIENT.secret, grant_types: [], response_types: [], redirect_uris: [] },
    {
      client_id: WEB_CLIENT.id,
      client_secret: WEB_CLIENT.secret,
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      redirect_uris: [WEB_CLIENT.redirectUri],
    },
  ];
  // oidc-provider registers one method per client; with a restricted list, clients use its first entry.
  const method = options.clientAuthMethods?.find((m) => m !== "none");
  if (method) for (const client of clients) client.token_endpoint_auth_method = method;

  const keys: JWK[] = [await signingKey()];

  const configuration = (): Configuration =>
    ({
      clients,
      jwks: { keys },
      findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub, name: `User ${sub}` }) }),
      claims: { openid: ["sub"], profile: ["name"] },
      scopes: SCOPES,
      responseTypes: ["code"],
      pkce: { required: () => true },
      issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(grant: string): boolean }) => client.grantTypeAllowed("refresh_token"),
      rotateRefreshToken: true,
      routes: ROUTES,
      ...(options.clientAuthMethods ? { clientAuthMethods: options.clientAuthMethods } : {}),
      features: {
        devInteractions: { enabled: true },
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        revocation: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: (_ctx: unknown, _client: unknown, oneOf?: string[]) => oneOf,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, indicator: string) => {
            const info = resourceServers[indicator];
            if (!info) throw new errors.InvalidTarget();
            return info;
          },
        },
      },
    }) as unknown as Configuration;

  let callback = new ProviderClass(issuer, configuration()).callback();
  let counts: OidcCounts = {};
  const count = (name: string) => {
    counts[name] = (counts[name] ?? 0) + 1;
  };

  httpServer.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const handle = async () => {
      const path = new URL(req.url ?? "/", issuer).pathname;
      if (path.startsWith("/.well-known/")) count("discovery");
      else if (path === ROUTES.jwks) count("jwks");
      else if (path === ROUTES.introspection) count("introspection");
      else if (path === ROUTES.revocation) count("revocation");
      else if (path === ROUTES.authorization) count("authorization");
      else if (path === ROUTES.token && req.method === "POST") {
        // The body is read here to count by grant type; oidc-provider then takes it from req.body.
        const body = await readBody(req);
        count("token");
        count(`token:${new URLSearchParams(body).get("grant_type") ?? "none"}`);
        Object.assign(req, { body: body === "" ? {} : body });
      }
      await callback(req, res);
    };
    handle().catch(() => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" }).end('{"error":"server_error"}');
      else res.destroy();
    });
  });

  const url = (path: string) => `${issuer}${path}`;
  return {
    issuer,
    endpoints: {
      token: url(ROUTES.token),
      jwks: url(ROUTES.jwks),
      introspection: url(ROUTES.introspection),
      revocation: url(ROUTES.revocation),
      authorization: url(ROUTES.authorization),
    },
    counts: () => ({ ...counts }),
    resetCounts: () => {
      counts = {};
    },
    publicJwks: () => ({ keys: keys.map(publicPart) }),
    async rotateKeys() {
      keys.unshift(await signingKey());
      // A new provider with the same issuer and storage (oidc-provider's memory adapter is shared
      // by the process): tokens issued before stay valid, new ones are signed with the new key.
      callback = new ProviderClass(issuer, configuration()).callback();
    },
    close: () =>
      new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      }),
  };
}
