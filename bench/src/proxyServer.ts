// A child process of the proxy benchmark: `stub` runs the stub token endpoint, `proxy` runs the
// token proxy (three configurations, one per path) in front of it. Each in its own process, as an
// IdP and a backend would be, so neither one's work is counted in the other's time.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { createTokenProxy, toNodeHandler } from "react-sso-kit/server";
import { closeServer, listen } from "./common.js";
import { startStubIdp } from "./stubIdp.js";
import { APP_ORIGIN, PROXY_CLIENT_ID, PROXY_CLIENT_SECRET, REDIRECT_URI, type ProxyPath, type StubReady } from "./proxyShared.js";

async function runStub(): Promise<() => Promise<void>> {
  const stub = await startStubIdp({ clientId: PROXY_CLIENT_ID, clientSecret: PROXY_CLIENT_SECRET, idTokens: "none", anyCode: true });
  const ready: StubReady = { issuer: stub.issuer, tokenEndpoint: stub.tokenEndpoint, tokenEndpointWithIdToken: stub.tokenEndpointWithIdToken, jwksUri: stub.jwksUri };
  process.send?.({ ready });
  return () => stub.close();
}

async function runProxy(stub: StubReady): Promise<() => Promise<void>> {
  const common = {
    clientId: PROXY_CLIENT_ID,
    clientSecret: PROXY_CLIENT_SECRET,
    allowedOrigins: [APP_ORIGIN],
    redirectUris: [REDIRECT_URI],
  };
  const cookie = { secrets: [randomBytes(32).toString("base64url")] };
  const handlers: Record<ProxyPath, ReturnType<typeof toNodeHandler>> = {
    // Every mode seals its login transactions: the passthrough proxy needs the secrets too.
    passthrough: toNodeHandler(createTokenProxy({ ...common, tokenEndpoint: stub.tokenEndpoint, refreshToken: "passthrough", cookie })),
    cookie: toNodeHandler(createTokenProxy({ ...common, tokenEndpoint: stub.tokenEndpoint, cookie })),
    // issuer + jwksUri: every ID token is verified against the stub's JWKS (cached after the first fetch).
    "cookie-verify": toNodeHandler(
      createTokenProxy({ ...common, issuer: stub.issuer, tokenEndpoint: stub.tokenEndpointWithIdToken, jwksUri: stub.jwksUri, cookie }),
    ),
  };
  const server = createServer((req, res) => {
    const handler = handlers[(req.url ?? "/").slice(1) as ProxyPath];
    if (handler) return void handler(req, res);
    res.writeHead(404).end();
  });
  const port = await listen(server);
  process.send?.({ ready: { url: `http://127.0.0.1:${port}` } });
  return () => closeServer(server);
}

const role = process.argv[2];
const close = role === "stub" ? await runStub() : role === "proxy" ? await runProxy(JSON.parse(process.argv[3] ?? "{}") as StubReady) : undefined;
if (!close) throw new Error(`proxyServer: unknown role ${role ?? "(none)"}`);
// The parent owns this process: when it says so, or goes away, the server closes and the process ends.
const stop = () => void close().then(() => process.exit(0));
process.on("message", (message) => message === "close" && stop());
process.on("disconnect", stop);
