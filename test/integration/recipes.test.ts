// @vitest-environment node
// The backend recipes of README.md, run as written: each framework mounts the real token proxy,
// and requests from a real HTTP client reach it with their method, headers and body intact.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { createTokenProxy, toNodeHandler } from "react-sso-kit/server";
import { CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, REDIRECT_URI } from "../support/idpControl.js";

const APP_ORIGIN = "http://localhost:3000";
const proxy = () =>
  createTokenProxy({
    issuer: inject("idpIssuer"),
    clientId: CONFIDENTIAL_CLIENT_ID,
    clientSecret: CONFIDENTIAL_CLIENT_SECRET,
    allowedOrigins: [APP_ORIGIN],
    redirectUris: [REDIRECT_URI],
    cookie: { secrets: ["a-cookie-secret-of-at-least-32-characters"] },
  });

type Started = { url: string; close(): Promise<void> };
const listening = (server: Server): Started => ({
  url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  close: () => new Promise((resolve) => server.close(() => resolve())),
});

const recipes: Record<string, () => Promise<Started>> = {
  async "node:http"() {
    const handle = toNodeHandler(proxy());
    const server = createServer((req, res) => {
      if (req.url?.startsWith("/auth/token")) return void handle(req, res);
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return listening(server);
  },
  async express() {
    const app = express();
    // A body parser mounted for the rest of the app does not get in the way.
    app.use(express.urlencoded({ extended: false }));
    app.all("/auth/token", toNodeHandler(proxy()));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    return listening(server);
  },
  async fastify() {
    const fastify = Fastify();
    const handle = toNodeHandler(proxy());
    // Let the proxy read the form body itself.
    fastify.addContentTypeParser("application/x-www-form-urlencoded", (_request, _payload, done) => done(null));
    fastify.all("/auth/token", (request, reply) => {
      reply.hijack();
      return handle(request.raw, reply.raw);
    });
    await fastify.listen({ port: 0, host: "127.0.0.1" });
    return { url: `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`, close: () => fastify.close() };
  },
  async hono() {
    const tokenProxy = proxy();
    const app = new Hono();
    app.all("/auth/token", (c) => tokenProxy(c.req.raw));
    const server = await new Promise<Server>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s as Server));
    });
    return listening(server);
  },
};

const form = { "Content-Type": "application/x-www-form-urlencoded", "X-React-SSO": "1", Origin: APP_ORIGIN };

describe.each(Object.keys(recipes))("the token proxy mounted with %s", (name) => {
  let server: Started;
  beforeAll(async () => {
    server = await (recipes[name] as () => Promise<Started>)();
  });
  afterAll(() => server.close());

  it("reaches the proxy with the body: a refresh without the session cookie is invalid_grant", async () => {
    const res = await fetch(`${server.url}/auth/token`, { method: "POST", headers: form, body: "grant_type=refresh_token" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("still refuses a repeated parameter", async () => {
    const res = await fetch(`${server.url}/auth/token`, {
      method: "POST",
      headers: form,
      body: `grant_type=authorization_code&code=a&code=b&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=x`,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_request" });
  });

  it("answers the CORS preflight of the allowed origin, and refuses a foreign one", async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/auth/token`, {
        method: "OPTIONS",
        headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-react-sso" },
      });
    const allowed = await preflight(APP_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
    const foreign = await preflight("https://evil.example");
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    const post = await fetch(`${server.url}/auth/token`, { method: "POST", headers: { ...form, Origin: "https://evil.example" }, body: "grant_type=refresh_token" });
    expect(post.status).toBe(403);
  });
});
