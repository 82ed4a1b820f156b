// Starts the whole playground: a local identity provider, the backend (token proxy + API) and
// the Vite React app. `npm run playground` runs main(); the e2e tests call startPlayground().
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createServer as createViteServer, type ViteDevServer } from "vite";
import { startBackend, type Backend } from "./backend.js";
import { startIdp, type TestIdp } from "./idp.js";

export const PLAYGROUND_CLIENT_ID = "playground";
// run.mjs compiles this file elsewhere, so it says where the playground lives.
const PLAYGROUND_DIR = process.env.REACT_SSO_PLAYGROUND_DIR ?? fileURLToPath(new URL(".", import.meta.url));

export interface PlaygroundOptions {
  host?: string | undefined;
  /** 0 picks free ports (tests). */
  appPort?: number | undefined;
  idpPort?: number | undefined;
  backendPort?: number | undefined;
  /** Access-token lifetime at the local IdP, in seconds: short, so refreshes are visible. */
  accessTokenTtl?: number | undefined;
  /** A real IdP instead of the local one. */
  sso?: { issuer: string; clientId: string; clientSecret?: string | undefined; scope?: string | undefined } | undefined;
  quiet?: boolean | undefined;
}

export interface Playground {
  appUrl: string;
  issuer: string;
  /** The local IdP, with its request counters; undefined when a real IdP is used. */
  idp: TestIdp | undefined;
  backend: Backend;
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
          ],
        });
    if (idp) closers.push(() => idp.close());
    const issuer = options.sso?.issuer ?? (idp as TestIdp).issuer;
    const clientId = options.sso?.clientId ?? PLAYGROUND_CLIENT_ID;

    const backend = await startBackend({
      issuer,
      clientId,
      clientSecret,
      appOrigins,
      redirectUris,
      cookieSecret: randomBytes(32).toString("base64url"),
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
        "import.meta.env.VITE_SSO_SCOPE": JSON.stringify(options.sso?.scope ?? "openid profile email offline_access"),
      },
      // Same origin for the app, the token proxy and the API: the refresh-token cookie stays first-party.
      // cors: false, because Vite's default CORS policy would answer for any localhost origin in
      // front of the proxy, which has its own (allowedOrigins only).
      server: { host, port: appPort, strictPort: true, cors: false, proxy: { "/auth": backend.url, "/api": backend.url } },
    });
    await vite.listen();
    closers.push(() => vite.close());
    return { appUrl: appOrigins[0] as string, issuer, idp, backend, close };
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
    ? { issuer: env.SSO_ISSUER, clientId: env.SSO_CLIENT_ID ?? "", clientSecret: env.SSO_CLIENT_SECRET || undefined, scope: env.SSO_SCOPE }
    : undefined;
  if (sso && !sso.clientId) throw new Error("SSO_CLIENT_ID is required with SSO_ISSUER.");
  const playground = await startPlayground({
    host: env.PLAYGROUND_HOST,
    appPort: envNumber("PLAYGROUND_PORT") ?? 5173,
    idpPort: envNumber("PLAYGROUND_IDP_PORT") ?? 4000,
    backendPort: envNumber("PLAYGROUND_BACKEND_PORT") ?? 4001,
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
    `  Backend:           ${playground.backend.url}   (POST /auth/token, GET /api/me)`,
    "",
    // With SSO_ISSUER the IdP is somebody else's: only the app and the backend run here.
    `  Ctrl-C stops ${playground.idp ? "all three" : "the app and the backend"}.`,
    "",
  ];
  console.log(lines.join("\n"));
  const stop = () => {
    void playground.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
