// Test-only stand-in for the backend token proxy: it adds the confidential
// client's credentials to a token request and passes the IdP's answer back
// untouched. Deliberately permissive (CORS, paths) because it never ships.
import { createServer } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from "node:http";

export interface RelayOptions {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  port?: number;
}

export interface TestRelay {
  /** POST token requests here (any path is accepted). */
  url: string;
  /** Number of POST requests received so far. */
  requests: () => number;
  close(): Promise<void>;
}

const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded";
const MAX_BODY_BYTES = 1024 * 1024;
// Besides content-type, the headers a client may need to act on (backoff, auth challenges, caching).
const PASSED_THROUGH_HEADERS = ["retry-after", "www-authenticate", "cache-control", "pragma"] as const;

export async function startRelay(options: RelayOptions): Promise<TestRelay> {
  const authorization = basicAuthorization(options.clientId, options.clientSecret);
  // Aborted on close so a relayed request stuck on a hanging IdP cannot hold the process.
  const shutdown = new AbortController();
  let requests = 0;

  const server = createServer((req, res) => {
    setCorsHeaders(req.headers, res);
    if (req.method === "OPTIONS") {
      res.writeHead(204).end();
      return;
    }
    if (req.method !== "POST") {
      sendJson(res, 405, { error: "invalid_request", error_description: "the relay only accepts POST" });
      return;
    }
    requests += 1;
    relay(req, res, options.tokenEndpoint, authorization, shutdown.signal).catch((error: unknown) =>
      answerRelayFailure(res, error),
    );
  });

  const port = await listen(server, options.port ?? 0);
  return {
    url: `http://127.0.0.1:${port}/token`,
    requests: () => requests,
    close: () => closeServer(server, shutdown),
  };
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded *before* being joined and base64-encoded. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const credentials = `${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`;
  return `Basic ${Buffer.from(credentials, "utf8").toString("base64")}`;
}

function formUrlEncode(value: string): string {
  // URLSearchParams implements the application/x-www-form-urlencoded serializer
  // (space as "+", "*-._" left alone), which encodeURIComponent does not.
  return new URLSearchParams({ v: value }).toString().slice("v=".length);
}

async function relay(
  req: IncomingMessage,
  res: ServerResponse,
  tokenEndpoint: string,
  authorization: string,
  signal: AbortSignal,
): Promise<void> {
  if (!isForm(req.headers["content-type"])) {
    sendJson(res, 415, { error: "invalid_request", error_description: `expected ${FORM_CONTENT_TYPE}` });
    return;
  }
  const body = await readBody(req);
  const upstream = await fetch(tokenEndpoint, {
    method: "POST",
    headers: { "content-type": FORM_CONTENT_TYPE, accept: "application/json", authorization },
    body,
    signal,
  });
  const payload = Buffer.from(await upstream.arrayBuffer());

  const headers: Record<string, string> = { "content-length": String(payload.length) };
  const contentType = upstream.headers.get("content-type");
  if (contentType !== null) headers["content-type"] = contentType;
  for (const name of PASSED_THROUGH_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  res.writeHead(upstream.status, headers).end(payload);
}

function isForm(contentType: string | undefined): boolean {
  return contentType?.split(";")[0]?.trim().toLowerCase() === FORM_CONTENT_TYPE;
}

function answerRelayFailure(res: ServerResponse, error: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  // The IdP dropped the connection (or the relay is closing): answer like a
  // gateway would instead of leaking the relay's own stack.
  const reason = error instanceof Error ? error.message : String(error);
  sendJson(res, 502, { error: "server_error", error_description: `relay could not reach the token endpoint: ${reason}` });
}

function setCorsHeaders(requestHeaders: IncomingHttpHeaders, res: ServerResponse): void {
  // Echoing the origin (rather than "*") keeps credentialed requests working too.
  const origin = requestHeaders.origin;
  res.setHeader("access-control-allow-origin", origin ?? "*");
  res.setHeader("vary", "Origin");
  if (origin) res.setHeader("access-control-allow-credentials", "true");
  res.setHeader("access-control-allow-methods", "POST, OPTIONS");
  res.setHeader("access-control-allow-headers", requestHeaders["access-control-request-headers"] ?? "content-type");
  res.setHeader("access-control-expose-headers", PASSED_THROUGH_HEADERS.join(", "));
  res.setHeader("access-control-max-age", "600");
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large");
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port }, () => {
      server.off("error", reject);
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error("relay did not get a TCP address"));
        return;
      }
      resolve(address.port);
    });
  });
}

function closeServer(server: Server, shutdown: AbortController): Promise<void> {
  shutdown.abort();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
