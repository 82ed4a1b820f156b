// Starts the whole playground: a local identity provider, the backend (token proxy + API) and
// the Vite React app. `npm run playground` runs main(); the e2e tests call startPlayground().
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createServer as createViteServer, type ViteDevServer } from "vite";
import { startBackend, type Backend } from "./backend.js";
import { API_SCOPES, startIdp, type TestIdp } from "./idp.js";
import { startReportsService, type ReportsService } from "./reports.js";

export const PLAYGROUND_CLIENT_ID = "playground";
/** The playground's API at the local IdP: the resource indicator the app sends, and its tokens' `aud`. */
export const PLAYGROUND_API = "https://api.playground.test";
/** What `/api/me` and `/api/report` require of the user's token. */
export const PLAYGROUND_API_SCOPE = "api:read";
/** The reports service at the local IdP, and the scope the backend asks for to call it. */
export const REPORTS_API = "https://reports.playground.test";
export const REPORTS_SCOPE = "reports:read";
/** The backend's own client at the local IdP (client credentials), for calling the reports service. */
export const BACKEND_CLIENT_ID = "playground-backend";
// run.mjs compiles this file elsewhere, so it says where the playground lives.
const PLAYGROUND_DIR = process.env.REACT_SSO_PLAYGROUND_DIR ?? fileURLToPath(new URL(".", import.meta.url));

export interface PlaygroundOptions {
  host?: string | undefined;
  /** 0 picks free ports (tests). */
  appPort?: number | undefined;
  idpPort?: number | undefined;
  backendPort?: number | undefined;
  reportsPort?: number | undefined;
  /** Access-token lifetime at the local IdP, in seconds: short, so refreshes are visible. */
  accessTokenTtl?: number | undefined;
  /** A real IdP instead of the local one. */
  sso?:
    | {
        issuer: string;
        clientId: string;
        clientSecret?: string | undefined;
        scope?: string | undefined;
        /** The `aud` of the JWT access tokens this IdP issues the app: `/api/me` then uses the guard, else userinfo. */
        apiAudience?: string | undefined;
        /** Space-separated scopes the guard requires. @default none */
        apiScope?: string | undefined;
      }
    | undefined;
  quiet?: boolean | undefined;
}

export interface Playground {
  appUrl: string;
  issuer: string;
  /** The local IdP, with its request counters; undefined when a real IdP is used. */
  idp: TestIdp | undefined;
  backend: Backend;
  /** The service the backend calls with its own token; undefined with a real IdP. */
  reports: ReportsService | undefined;
  close(): Promise<void>;
}

async function freePort(host: string): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export async function startPlayground(options: PlaygroundOptions = {}): Promise<Playground> {
  const host = options.host ?? "127.0.0.1";
  const appPort = options.appPort || (await freePort(host));
  const appOrigins = [`http://${host}:${appPort}`, `http://localhost:${appPort}`];
  const redirectUris = appOrigins.map((origin) => `${origin}/callback`);
  const clientSecret = options.sso ? options.sso.clientSecret : randomBytes(24).toString("base64url");
  const backendSecret = randomBytes(24).toString("base64url");
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closeOne of closers.reverse()) await closeOne().catch(() => undefined);
  };

  try {
    const idp = options.sso
      ? undefined
      : await startIdp({
          port: options.idpPort ?? 0,
          accessTokenTtl: options.accessTokenTtl ?? 120,
          // JWT access tokens for the two APIs; the reports service's live five minutes.
          apis: [
            { audience: PLAYGROUND_API, scopes: API_SCOPES },
            { audience: REPORTS_API, scopes: [REPORTS_SCOPE], accessTokenTtl: 300 },
          ],
          clients: [
            {
              client_id: PLAYGROUND_CLIENT_ID,
              client_secret: clientSecret as string,
              token_endpoint_auth_method: "client_secret_basic",
              redirect_uris: redirectUris,
              post_logout_redirect_uris: appOrigins.map((origin) => `${origin}/`),
              grant_types: ["authorization_code", "refresh_token"],
              response_types: ["code"],
            },
            {
              client_id: BACKEND_CLIENT_ID,
              client_secret: backendSecret,
              grant_types: ["client_credentials"],
              response_types: [],
              redirect_uris: [],
              scope: REPORTS_SCOPE,
            },
          ],
        });
    if (idp) closers.push(() => idp.close());
    const issuer = options.sso?.issuer ?? (idp as TestIdp).issuer;
    const clientId = options.sso?.clientId ?? PLAYGROUND_CLIENT_ID;
    const sso = options.sso;
    const api = sso
      ? sso.apiAudience
        ? { audience: sso.apiAudience, scopes: (sso.apiScope ?? "").split(" ").filter(Boolean) }
        : undefined
      : { audience: PLAYGROUND_API, scopes: [PLAYGROUND_API_SCOPE] };

    const reports = idp ? await startReportsService({ issuer, audience: REPORTS_API, scope: REPORTS_SCOPE, host, port: options.reportsPort ?? 0 }) : undefined;
    if (reports) closers.push(() => reports.close());

    const backend = await startBackend({
      issuer,
      clientId,
      clientSecret,
      appOrigins,
      redirectUris,
      cookieSecret: randomBytes(32).toString("base64url"),
      api,
      reports: reports && { url: reports.url, audience: REPORTS_API, scope: REPORTS_SCOPE, clientId: BACKEND_CLIENT_ID, clientSecret: backendSecret },
      host,
      port: options.backendPort ?? 0,
    });
    closers.push(() => backend.close());

    const vite: ViteDevServer = await createViteServer({
      configFile: false,
      root: `${PLAYGROUND_DIR}/app`,
      logLevel: options.quiet ? "silent" : "info",
      clearScreen: false,
      oxc: { jsx: { runtime: "automatic" } },
      // The app imports "react-sso-kit" like any app; here that name is this repository's source.
      resolve: { alias: [{ find: /^react-sso-kit$/, replacement: `${PLAYGROUND_DIR}/../src/react/index.ts` }] },
      define: {
        "import.meta.env.VITE_SSO_AUTHORITY": JSON.stringify(issuer),
        "import.meta.env.VITE_SSO_CLIENT_ID": JSON.stringify(clientId),
        "import.meta.env.VITE_SSO_SCOPE": JSON.stringify(sso ? (sso.scope ?? "openid profile email offline_access") : `openid profile email offline_access ${PLAYGROUND_API_SCOPE}`),
        // RFC 8707: the local IdP issues a JWT for the API the login names.
        "import.meta.env.VITE_SSO_RESOURCE": JSON.stringify(sso ? "" : PLAYGROUND_API),
        "import.meta.env.VITE_API_AUDIENCE": JSON.stringify(api?.audience ?? ""),
        "import.meta.env.VITE_REPORTS_SERVICE": JSON.stringify(reports?.url ?? ""),
      },
      // Same origin for the app, the token proxy and the API: the refresh-token cookie stays first-party.
      // cors: false, because Vite's default CORS policy would answer for any localhost origin in
      // front of the proxy, which has its own (allowedOrigins only).
      server: { host, port: appPort, strictPort: true, cors: false, proxy: { "/auth": backend.url, "/api": backend.url } },
    });
    await vite.listen();
    closers.push(() => vite.close());
    return { appUrl: appOrigins[0] as string, issuer, idp, backend, reports, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function envNumber(name: string): number | undefined {
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : Number(value);
}

export async function main(): Promise<void> {
  const env = process.env;
  const sso = env.SSO_ISSUER
    ? {
        issuer: env.SSO_ISSUER,
        clientId: env.SSO_CLIENT_ID ?? "",
        clientSecret: env.SSO_CLIENT_SECRET || undefined,
        scope: env.SSO_SCOPE,
        apiAudience: env.SSO_API_AUDIENCE || undefined,
        apiScope: env.SSO_API_SCOPE,
      }
    : undefined;
  if (sso && !sso.clientId) throw new Error("SSO_CLIENT_ID is required with SSO_ISSUER.");
  const playground = await startPlayground({
    host: env.PLAYGROUND_HOST,
    appPort: envNumber("PLAYGROUND_PORT") ?? 5173,
    idpPort: envNumber("PLAYGROUND_IDP_PORT") ?? 4000,
    backendPort: envNumber("PLAYGROUND_BACKEND_PORT") ?? 4001,
    reportsPort: envNumber("PLAYGROUND_REPORTS_PORT") ?? 4002,
    accessTokenTtl: envNumber("PLAYGROUND_ACCESS_TOKEN_TTL"),
    sso,
    quiet: true,
  });
  const lines = [
    "",
    "  react-sso playground",
    "",
    `  App:               ${playground.appUrl}   <- open this`,
    `  Identity provider: ${playground.issuer}${playground.idp ? "   (any username and password sign in)" : ""}`,
    `  Backend:           ${playground.backend.url}   (POST /auth/token, GET /api/me${playground.reports ? ", GET /api/report" : ""})`,
    ...(playground.reports ? [`  Reports service:   ${playground.reports.url}   (GET /v1/summary, called by the backend with its own token)`] : []),
    "",
    // With SSO_ISSUER the IdP is somebody else's, and no reports service runs: only the app and the backend.
    `  Ctrl-C stops ${playground.idp ? "all four" : "the app and the backend"}.`,
    "",
  ];
  console.log(lines.join("\n"));
  const stop = () => {
    void playground.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
