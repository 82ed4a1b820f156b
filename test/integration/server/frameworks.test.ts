// @vitest-environment node
// The guard as apps mount it: requireAuth in node:http and Express, withAuth in Hono and as a
// Next.js route handler, verify in a Fastify hook; real HTTP requests with tokens from a real
// oidc-provider. Only requests with a valid token reach the app's handler.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import express from "express";
import Fastify, { type FastifyRequest } from "fastify";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthError, createOAuthClient, createTokenVerifier, requireAuth, withAuth, type AuthenticatedRequest, type AuthInfo, type TokenVerifier } from "react-sso-kit/server";
import { createLeakCheck } from "../../support/leakCheck.js";
import { API_AUDIENCE, OTHER_AUDIENCE, SERVICE_CLIENT, startOidcServer, type OidcServer } from "../../support/oidcServer.js";

let idp: OidcServer;
let verifier: TokenVerifier;
const leaks = createLeakCheck();
const tokens: Record<"read" | "write" | "foreign", string> = { read: "", write: "", foreign: "" };

type Started = { url: string; handled: () => number; close(): Promise<void> };

const listening = async (server: Server, handled: () => number): Promise<Started> => {
  if (!server.listening) await new Promise<void>((resolve) => server.once("listening", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    handled,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};

/** Each app serves GET /orders (orders:read) and POST /orders (orders:write), answering { sub, scopes }. */
const apps: Record<string, () => Promise<Started>> = {
  async "node:http + requireAuth"() {
    let handled = 0;
    const read = requireAuth(verifier, { scopes: ["orders:read"] });
    const write = requireAuth(verifier, { scopes: "orders:write" });
    const server = createServer((req, res) => {
      const guard = req.method === "POST" ? write : read;
      guard(req, res, () => {
        handled += 1;
        const { auth } = req as AuthenticatedRequest;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ sub: auth.sub, scopes: auth.scopes }));
      });
    }).listen(0, "127.0.0.1");
    return listening(server, () => handled);
  },
  async "Express + requireAuth"() {
    let handled = 0;
    const app = express();
    const answer = (req: express.Request, res: express.Response) => {
      handled += 1;
      const { auth } = req as express.Request & AuthenticatedRequest;
      res.json({ sub: auth.sub, scopes: auth.scopes });
    };
    app.get("/orders", requireAuth(verifier, { scopes: ["orders:read"] }), answer);
    app.post("/orders", requireAuth(verifier, { scopes: ["orders:write"] }), answer);
    return listening(app.listen(0, "127.0.0.1"), () => handled);
  },
  async "Hono + withAuth"() {
    let handled = 0;
    const answer = (_request: Request, auth: AuthInfo) => {
      handled += 1;
      return Response.json({ sub: auth.sub, scopes: auth.scopes });
    };
    const app = new Hono();
    const read = withAuth(verifier, answer, { scopes: ["orders:read"] });
    const write = withAuth(verifier, answer, { scopes: ["orders:write"] });
    app.get("/orders", (c) => read(c.req.raw));
    app.post("/orders", (c) => write(c.req.raw));
    return listening(serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Server, () => handled);
  },
  async "Fastify + verify"() {
    let handled = 0;
    const fastify = Fastify();
    const scopesFor = (request: FastifyRequest) => (request.method === "POST" ? ["orders:write"] : ["orders:read"]);
    fastify.addHook("preHandler", async (request, reply) => {
      try {
        (request as FastifyRequest & { auth?: AuthInfo }).auth = await verifier.verify(request, { scopes: scopesFor(request) });
      } catch (err) {
        if (!(err instanceof AuthError) || err.status === undefined) throw err;
        if (err.wwwAuthenticate) reply.header("WWW-Authenticate", err.wwwAuthenticate);
        return reply.code(err.status).header("Cache-Control", "no-store").send({ error: err.error ?? err.code, error_description: err.errorDescription });
      }
    });
    const answer = async (request: FastifyRequest) => {
      handled += 1;
      const { auth } = request as FastifyRequest & { auth: AuthInfo };
      return { sub: auth.sub, scopes: auth.scopes };
    };
    fastify.get("/orders", answer);
    fastify.post("/orders", answer);
    await fastify.listen({ port: 0, host: "127.0.0.1" });
    return { url: `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`, handled: () => handled, close: () => fastify.close() };
  },
};

beforeAll(async () => {
  idp = await startOidcServer();
  verifier = createTokenVerifier({ issuer: idp.issuer, audience: API_AUDIENCE });
  const oauth = createOAuthClient({ issuer: idp.issuer, clientId: SERVICE_CLIENT.id, clientSecret: SERVICE_CLIENT.secret });
  tokens.read = (await oauth.clientCredentials({ scope: "orders:read", resource: API_AUDIENCE })).accessToken;
  tokens.write = (await oauth.clientCredentials({ scope: "orders:read orders:write", resource: API_AUDIENCE })).accessToken;
  tokens.foreign = (await oauth.clientCredentials({ scope: "orders:read", resource: OTHER_AUDIENCE })).accessToken;
  leaks.secret(SERVICE_CLIENT.secret, ...Object.values(tokens));
});

afterAll(async () => {
  await idp?.close();
  expect(leaks.seen).toBeGreaterThan(20);
  expect(leaks.leaks()).toEqual([]);
});

describe.each(Object.keys(apps))("%s", (name) => {
  let app: Started;
  beforeAll(async () => {
    app = await (apps[name] as () => Promise<Started>)();
  });
  afterAll(() => app?.close());

  async function call(method: string, path: string, token?: string) {
    const response = await fetch(`${app.url}${path}`, { method, headers: token ? { Authorization: `Bearer ${token}` } : {} });
    const text = await response.text();
    leaks.see(text, [...response.headers].join("\n"));
    return { status: response.status, headers: response.headers, body: JSON.parse(text) as Record<string, unknown> };
  }

  it("lets a valid token through to the handler, with what it says", async () => {
    const before = app.handled();
    expect(await call("GET", "/orders", tokens.read)).toMatchObject({ status: 200, body: { sub: SERVICE_CLIENT.id, scopes: ["orders:read"] } });
    expect(await call("POST", "/orders", tokens.write)).toMatchObject({ status: 200, body: { scopes: ["orders:read", "orders:write"] } });
    expect(app.handled() - before).toBe(2);
  });

  it("refuses every bad request with the RFC 6750 answer, and never runs the handler", async () => {
    const before = app.handled();
    const none = await call("GET", "/orders");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe("Bearer");
    expect(none.headers.get("cache-control")).toBe("no-store");
    expect(none.body).toEqual({ error: "login_required", error_description: 'No access token: send it in the Authorization header as "Bearer <token>".' });

    const query = await call("GET", `/orders?access_token=${tokens.read}`);
    expect(query.status).toBe(400);
    expect(query.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_request", error_description="/);

    const scope = await call("POST", "/orders", tokens.read);
    expect(scope.status).toBe(403);
    expect(scope.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope", error_description="The access token lacks the scope orders:write.", scope="orders:write"');
    expect(scope.body).toEqual({ error: "insufficient_scope", error_description: "The access token lacks the scope orders:write." });

    for (const bad of [tokens.foreign, `${tokens.read.slice(0, -4)}AAAA`, "not-a-jwt"]) {
      const refused = await call("GET", "/orders", bad);
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
      expect(refused.body).toMatchObject({ error: "invalid_token" });
    }
    expect(app.handled()).toBe(before);
  });
});

describe("withAuth as a Next.js route handler", () => {
  it("passes the route context through, and answers refusals itself", async () => {
    const seen: unknown[] = [];
    const GET = withAuth(verifier, (request, auth, context: { params: Promise<{ id: string }> }) => {
      seen.push(request.url);
      return context.params.then(({ id }) => Response.json({ id, sub: auth.sub }));
    }, { scopes: ["orders:read"] });
    const ok = await GET(new Request("https://app.example.test/api/orders/7", { headers: { authorization: `Bearer ${tokens.read}` } }), { params: Promise.resolve({ id: "7" }) });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ id: "7", sub: SERVICE_CLIENT.id });
    const refused = await GET(new Request("https://app.example.test/api/orders/7"), { params: Promise.resolve({ id: "7" }) });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toBe("Bearer");
    expect(seen).toEqual(["https://app.example.test/api/orders/7"]);
  });

  it("answers 503, not 401, when the IdP cannot be reached", async () => {
    const down = createServer();
    await new Promise<void>((resolve) => down.listen(0, "127.0.0.1", resolve));
    const issuer = `http://127.0.0.1:${(down.address() as AddressInfo).port}`;
    await new Promise((resolve) => down.close(resolve));
    const GET = withAuth(createTokenVerifier({ issuer, audience: API_AUDIENCE }), () => new Response("never"));
    const response = await GET(new Request("https://app.example.test/api", { headers: { authorization: `Bearer ${tokens.read}` } }));
    expect(response.status).toBe(503);
    expect(response.headers.get("www-authenticate")).toBeNull();
    const body = await response.text();
    leaks.see(body);
    expect(JSON.parse(body)).toEqual({ error: "temporarily_unavailable", error_description: "The access token cannot be checked right now; try again later." });
    expect(body).not.toContain(issuer);
  });
});
