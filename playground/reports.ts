// A tiny "reports service": another API, which the playground's backend calls with a token of
// its own (client credentials), not the user's. It checks that token as any API would, with
// react-sso-kit/server's guard.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { createTokenVerifier, requireAuth, type AuthenticatedRequest } from "react-sso-kit/server";

export interface ReportsServiceOptions {
  issuer: string;
  /** The `aud` its tokens carry: its resource indicator at the IdP. */
  audience: string;
  /** The scope a caller's token must grant. */
  scope: string;
  host?: string | undefined;
  /** 0 picks a free port. */
  port?: number | undefined;
}

export interface ReportsService {
  url: string;
  /** Requests to `GET /v1/summary`, by the status answered (`"200"`, `"401"`…). */
  stats(): Record<string, number>;
  reset(): void;
  close(): Promise<void>;
}

export const SUMMARY_PATH = "/v1/summary";

export async function startReportsService(options: ReportsServiceOptions): Promise<ReportsService> {
  const verifier = createTokenVerifier({ issuer: options.issuer, audience: options.audience });
  const guard = requireAuth(verifier, { scopes: [options.scope] });
  let stats: Record<string, number> = {};

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://reports").pathname;
    if (path !== SUMMARY_PATH || req.method !== "GET") {
      res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ error: "not_found" }));
      return;
    }
    res.once("finish", () => {
      stats[res.statusCode] = (stats[res.statusCode] ?? 0) + 1;
    });
    guard(req, res, () => {
      const { auth } = req as AuthenticatedRequest<IncomingMessage>;
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      res.end(
        JSON.stringify({
          report: "Sign-ins this week",
          total: 38,
          // What the service learnt from the token: who called, with which rights.
          calledBy: auth.clientId,
          scopes: auth.scopes,
        }),
      );
    });
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    stats: () => ({ ...stats }),
    reset: () => {
      stats = {};
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
