// The playground's backend: the token proxy from react-sso-kit/server, and a protected API route.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createTokenProxy, toNodeHandler } from "react-sso-kit/server";

export interface BackendOptions {
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  /** Origins of the app (the Vite server): the only ones the proxy answers. */
  appOrigins: string[];
  redirectUris: string[];
  cookieSecret: string;
  port?: number;
  host?: string;
}

export interface Backend {
  url: string;
  /** Requests the token proxy received, whatever it answered. */
  proxyRequests(): number;
  close(): Promise<void>;
}

/** A resource server's check: the IdP's userinfo endpoint accepts the token only while it is valid. */
async function me(req: IncomingMessage, res: ServerResponse, userinfo: Promise<string>): Promise<void> {
  const [scheme, token] = (req.headers.authorization ?? "").split(" ");
  const deny = (description: string) => {
    // RFC 6750 §3: the challenge tells the client to refresh (invalid_token) or to sign in.
    res.writeHead(401, {
      "Content-Type": "application/json",
      "WWW-Authenticate": `Bearer error="invalid_token", error_description="${description}"`,
    });
    res.end(JSON.stringify({ error: "invalid_token", error_description: description }));
  };
  if (scheme?.toLowerCase() !== "bearer" || !token) return deny("A bearer token is required");
  const answer = await fetch(await userinfo, { headers: { Authorization: `Bearer ${token}` } }).catch(() => undefined);
  if (!answer) {
    res.writeHead(502, { "Content-Type": "application/json" });
    return void res.end(JSON.stringify({ error: "temporarily_unavailable" }));
  }
  if (!answer.ok) return deny("The token was rejected by the identity provider");
  const claims = (await answer.json()) as Record<string, unknown>;
  res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  res.end(JSON.stringify({ message: "Hello from the protected API", checkedAt: new Date().toISOString(), user: claims }, null, 2));
}

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
  const userinfo = fetch(`${options.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`)
    .then((r) => r.json() as Promise<{ userinfo_endpoint: string }>)
    .then((doc) => doc.userinfo_endpoint);
  userinfo.catch(() => undefined);

  let proxyRequests = 0;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://backend").pathname;
    if (path === "/auth/token") {
      proxyRequests++;
      return void proxyHandler(req, res);
    }
    if (path === "/api/me" && req.method === "GET") {
      return void me(req, res, userinfo).catch(() => {
        res.writeHead(500);
        res.end();
      });
    }
    res.writeHead(404, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: "not_found" }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    proxyRequests: () => proxyRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
