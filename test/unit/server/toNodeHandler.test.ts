// @vitest-environment node
import { Agent, createServer, IncomingMessage, METHODS, request as httpRequest, type Server, type ServerResponse } from "node:http";
import { Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createTokenProxy } from "../../../src/server/createTokenProxy.js";
import { toNodeHandler } from "../../../src/server/toNodeHandler.js";
import {
  APP_ORIGIN,
  CLIENT_ID,
  CLIENT_SECRET,
  COOKIE_SECRET,
  createStubIdp,
  REDIRECT_URI,
  REVOCATION_ENDPOINT,
  TOKEN_ENDPOINT,
  VERIFIER,
  type IdpCall,
  type StubIdp,
} from "./stubIdp.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => {
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeAllConnections(); // keep-alive sockets of fetch would hold close() open
      return closed;
    }),
  );
});

/** Listens on 127.0.0.1 on a free port and returns the base URL. */
async function listen(listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function proxyFor(idp: StubIdp, maxBodyBytes?: number) {
  return createTokenProxy({
    tokenEndpoint: TOKEN_ENDPOINT,
    revocationEndpoint: REVOCATION_ENDPOINT,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    allowedOrigins: [APP_ORIGIN],
    redirectUris: [REDIRECT_URI],
    cookie: { secrets: [COOKIE_SECRET] },
    fetch: idp.fetch,
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
  });
}

const proxyHeaders = { origin: APP_ORIGIN, "x-react-sso": "1", "content-type": "application/x-www-form-urlencoded" };
const codeExchange = (extra = "", state = "a-state-no-login-started") =>
  `${new URLSearchParams({ grant_type: "authorization_code", code: "c0de", redirect_uri: REDIRECT_URI, state, client_id: CLIENT_ID })}${extra}`;

/** The proxy's login step over HTTP, as the browser runs it before going to the IdP: the state and the headers (its cookie) the exchange needs. */
async function loggedIn(base: string): Promise<{ state: string; headers: Record<string, string> }> {
  const response = await fetch(base, { method: "POST", headers: proxyHeaders, body: new URLSearchParams({ action: "login", client_id: CLIENT_ID, redirect_uri: REDIRECT_URI }).toString() });
  const { state } = (await response.json()) as { state: string };
  return { state, headers: { ...proxyHeaders, cookie: response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ") } };
}

describe("toNodeHandler with a plain Web handler", () => {
  it("status, headers and body of the Web response arrive; the request arrives as a Web Request", async () => {
    let seen: { method: string; url: string; header: string | null; body: string } | undefined;
    const base = await listen(
      toNodeHandler(async (request) => {
        seen = { method: request.method, url: request.url, header: request.headers.get("x-custom"), body: await request.text() };
        return new Response("héllo, wörld", { status: 201, headers: { "content-type": "text/plain; charset=utf-8", "x-answer": "42" } });
      }),
    );
    const response = await fetch(`${base}/auth/token?x=1`, { method: "POST", headers: { "x-custom": "yes" }, body: "ping" });
    expect(response.status).toBe(201);
    expect(response.headers.get("x-answer")).toBe("42");
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await response.text()).toBe("héllo, wörld");
    expect(seen).toEqual({ method: "POST", url: "http://localhost/auth/token?x=1", header: "yes", body: "ping" });
  });

  it("a binary body arrives byte for byte", async () => {
    const bytes = new Uint8Array(1024).map((_, i) => i % 256);
    const base = await listen(toNodeHandler(async () => new Response(bytes, { headers: { "content-type": "application/octet-stream" } })));
    expect(new Uint8Array(await (await fetch(base)).arrayBuffer())).toEqual(bytes);
  });

  it("several Set-Cookie headers arrive as separate headers", async () => {
    const base = await listen(
      toNodeHandler(async () => {
        const headers = new Headers();
        headers.append("Set-Cookie", "a=1; Path=/; HttpOnly");
        headers.append("Set-Cookie", "b=2; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT");
        headers.append("Set-Cookie", "c=3");
        return new Response(null, { status: 204, headers });
      }),
    );
    const response = await fetch(base, { method: "POST" });
    expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/; HttpOnly", "b=2; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT", "c=3"]);
  });

  it("a GET carries no body", async () => {
    let body: ReadableStream | null = new ReadableStream();
    const base = await listen(
      toNodeHandler(async (request) => {
        body = request.body;
        return new Response("ok");
      }),
    );
    expect((await fetch(base)).status).toBe(200);
    expect(body).toBeNull();
  });

  it("a handler that throws answers 500 without next, and is passed to next when there is one", async () => {
    const boom = new Error("boom");
    const adapter = toNodeHandler(async () => {
      throw boom;
    });
    const base = await listen(adapter);
    const response = await fetch(base, { method: "POST", body: "x" });
    expect(response.status).toBe(500);
    expect(await response.text()).toBe("");

    const next = vi.fn();
    const withNext = await listen((req, res) => {
      void adapter(req, res, (err) => {
        next(err);
        res.statusCode = 418;
        res.end("from next");
      });
    });
    const answered = await fetch(withNext, { method: "POST", body: "x" });
    expect(answered.status).toBe(418);
    expect(next).toHaveBeenCalledWith(boom);
  });
});

describe("toNodeHandler with the token proxy", () => {
  it("a code exchange over real HTTP: JSON, CORS, no-store and the sealed cookie arrive", async () => {
    const idp = createStubIdp();
    const base = await listen(toNodeHandler(proxyFor(idp)));
    const login = await loggedIn(base);
    const response = await fetch(`${base}/auth/token`, { method: "POST", headers: login.headers, body: codeExchange("", login.state) });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const json = (await response.json()) as Record<string, unknown>;
    expect(json.access_token).toBe(idp.issued.access[0]);
    expect(json).not.toHaveProperty("refresh_token");
    // The login transaction is used up (its cookie cleared) and the session's cookie set.
    const cookies = response.headers.getSetCookie().filter((c) => !c.startsWith("__Host-react-sso-rt-login="));
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(/^__Host-react-sso-rt=[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+; /);
    expect(idp.calls.map((c) => c.url)).toEqual([TOKEN_ENDPOINT]);
    expect((idp.calls[0] as IdpCall).form.get("code")).toBe("c0de");

    // The cookie goes back through the adapter on the next request.
    const cookie = (cookies[0] as string).split(";")[0] as string;
    const refreshed = await fetch(`${base}/auth/token`, {
      method: "POST",
      headers: { ...proxyHeaders, cookie },
      body: new URLSearchParams({ grant_type: "refresh_token" }).toString(),
    });
    expect(refreshed.status).toBe(200);
    expect((idp.calls[1] as IdpCall).form.get("refresh_token")).toBe(idp.issued.refresh[0]);
  });

  it("the preflight answers 204 over real HTTP", async () => {
    const base = await listen(toNodeHandler(proxyFor(createStubIdp())));
    const response = await fetch(base, {
      method: "OPTIONS",
      headers: { origin: APP_ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "content-type, x-react-sso" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
  });

  it("a body with an honest Content-Length over the limit → 413", async () => {
    const idp = createStubIdp();
    const base = await listen(toNodeHandler(proxyFor(idp, 256)));
    const response = await fetch(base, { method: "POST", headers: proxyHeaders, body: codeExchange(`&pad=${"x".repeat(1000)}`) });
    expect(response.status).toBe(413);
    expect(((await response.json()) as Record<string, unknown>).error).toBe("invalid_request");
    expect(idp.calls).toHaveLength(0);
  });

  it("a streamed (chunked, no Content-Length) body over the limit → 413", async () => {
    const idp = createStubIdp();
    const base = await listen(toNodeHandler(proxyFor(idp, 256)));
    const chunk = new TextEncoder().encode("x".repeat(1024));
    let sent = 0;
    // 10 MB at most, paced so the request is still in flight when the proxy refuses it.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        sent++;
        await new Promise((resolve) => setImmediate(resolve));
        if (sent === 1) controller.enqueue(new TextEncoder().encode(`${codeExchange()}&pad=`));
        else if (sent < 10_000) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(base, { method: "POST", headers: proxyHeaders, body, duplex: "half" } as RequestInit);
    expect(response.status).toBe(413);
    expect(((await response.json()) as Record<string, unknown>).error).toBe("invalid_request");
    expect(sent).toBeLessThan(10_000);
    expect(idp.calls).toHaveLength(0);
  });

  // Every method Node's parser accepts (TRACK is not among them: Node answers it 400 itself), but
  // the two the proxy serves and CONNECT, which a plain server never hands to a request listener.
  it.each(METHODS.filter((m) => !["POST", "OPTIONS", "CONNECT"].includes(m)))("%s gets the proxy's 405 with an OAuth JSON error", async (method) => {
    const idp = createStubIdp();
    const base = new URL(await listen(toNodeHandler(proxyFor(idp))));
    const answer = await new Promise<{ status: number; allow: string | undefined; type: string | undefined; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: base.hostname, port: base.port, method, path: "/auth/token", headers: { origin: APP_ORIGIN } }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, type: res.headers["content-type"], body }));
      });
      req.on("error", reject);
      req.end();
    });
    expect(answer.status).toBe(405);
    expect(answer.allow).toBe("POST, OPTIONS");
    expect(answer.type).toMatch(/^application\/json/);
    // A HEAD answer has no body.
    if (method !== "HEAD") expect((JSON.parse(answer.body) as { error: string }).error).toBe("invalid_request");
    expect(idp.calls).toHaveLength(0);
  });

  it("CONNECT, handed over by a server that listens for it, gets the 405 too", async () => {
    // A plain node:http server closes CONNECT connections itself; one with a "connect" listener may pass them on.
    const req = Object.assign(new IncomingMessage(new Socket()), { method: "CONNECT", url: "sso.example.com:443", headers: { origin: APP_ORIGIN } });
    req.push(null);
    const sent: { status?: number; headers: Record<string, unknown>; body?: string } = { headers: {} };
    const res = {
      set statusCode(status: number) {
        sent.status = status;
      },
      setHeader: (name: string, value: unknown) => void (sent.headers[name.toLowerCase()] = value),
      end: (chunk: Uint8Array) => void (sent.body = new TextDecoder().decode(chunk)),
    } as unknown as ServerResponse;
    await toNodeHandler(proxyFor(createStubIdp()))(req, res);
    expect(sent.status).toBe(405);
    expect(sent.headers.allow).toBe("POST, OPTIONS");
    expect((JSON.parse(sent.body ?? "") as { error: string }).error).toBe("invalid_request");
  });

  it("after refusing an oversized chunked body, the client's next request on a kept-alive connection still works", async () => {
    const idp = createStubIdp();
    const base = new URL(await listen(toNodeHandler(proxyFor(idp, 256))));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: (req: ReturnType<typeof httpRequest>) => void) =>
      new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: base.hostname, port: base.port, method: "POST", path: "/auth/token", agent, headers: proxyHeaders }, (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
        });
        req.on("error", reject);
        body(req);
      });
    try {
      const refused = await send((req) => {
        // Chunked, no Content-Length: the proxy stops reading at the limit, while more is still coming.
        req.write(`${codeExchange()}&pad=`);
        const more = setInterval(() => req.write("x".repeat(1024)), 1);
        req.on("response", () => {
          clearInterval(more);
          req.end();
        });
        req.on("close", () => clearInterval(more));
      });
      expect(refused.status).toBe(413);
      // The rest of that body was never read: the connection must not be reused for the next request.
      expect(refused.connection).toBe("close");
      // Any answer of the proxy's (this one: no login matches that state) shows the connection works.
      const next = await send((req) => req.end(codeExchange()));
      expect(next.status).toBe(400);
      expect(JSON.parse(next.body)).toMatchObject({ error: "invalid_grant" });
    } finally {
      agent.destroy();
    }
  });

  it("Host and X-Forwarded-* sent over HTTP do not change the upstream", async () => {
    const idp = createStubIdp();
    const base = await listen(toNodeHandler(proxyFor(idp)));
    const login = await loggedIn(base);
    const response = await fetch(`${base}/auth/token`, {
      method: "POST",
      headers: { ...login.headers, "x-forwarded-host": "evil.example.net", "x-forwarded-proto": "http", forwarded: "host=evil.example.net" },
      body: codeExchange("", login.state),
    });
    expect(response.status).toBe(200);
    expect(idp.calls.map((c) => c.url)).toEqual([TOKEN_ENDPOINT]);
  });
});

describe("toNodeHandler after an Express-like body parser", () => {
  /** A node:http server that parses urlencoded bodies the way express.urlencoded() does (repeated names → arrays), then calls the adapter. */
  async function parsingServer(handler: ReturnType<typeof toNodeHandler>, parse: (raw: Buffer) => unknown = urlencoded): Promise<string> {
    return listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const parsed = req as IncomingMessage & { body?: unknown; _body?: boolean };
        parsed.body = parse(Buffer.concat(chunks));
        parsed._body = true;
        void handler(req, res);
      });
    });
  }
  function urlencoded(raw: Buffer): Record<string, string | string[]> {
    const body: Record<string, string | string[]> = {};
    for (const [name, value] of new URLSearchParams(raw.toString("utf8"))) {
      const previous = body[name];
      body[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
    }
    return body;
  }

  it("a pre-parsed code exchange still works", async () => {
    const idp = createStubIdp();
    const base = await parsingServer(toNodeHandler(proxyFor(idp)));
    const login = await loggedIn(base);
    const response = await fetch(base, { method: "POST", headers: login.headers, body: codeExchange("", login.state) });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Record<string, unknown>).access_token).toBe(idp.issued.access[0]);
    expect(Object.fromEntries((idp.calls[0] as IdpCall).form)).toEqual({
      grant_type: "authorization_code",
      code: "c0de",
      redirect_uri: REDIRECT_URI,
      // The proxy's own verifier, from the login transaction.
      code_verifier: expect.stringMatching(/^[\w-]{43}$/),
    });
  });

  it("a repeated parameter (an array after parsing) is still refused with 400", async () => {
    const idp = createStubIdp();
    const base = await parsingServer(toNodeHandler(proxyFor(idp)));
    const response = await fetch(base, { method: "POST", headers: proxyHeaders, body: codeExchange("&code=second") });
    expect(response.status).toBe(400);
    const json = (await response.json()) as Record<string, unknown>;
    expect(json.error).toBe("invalid_request");
    expect(typeof json.error_description).toBe("string");
    expect(idp.calls).toHaveLength(0);
  });

  it("a pre-parsed body keeps the proxy's size limit", async () => {
    const idp = createStubIdp();
    const base = await parsingServer(toNodeHandler(proxyFor(idp, 256)));
    const response = await fetch(base, { method: "POST", headers: proxyHeaders, body: codeExchange(`&pad=${"x".repeat(1000)}`) });
    expect(response.status).toBe(413);
    expect(idp.calls).toHaveLength(0);
  });

  it("a body pre-parsed as a string (express.text()) still works", async () => {
    const idp = createStubIdp();
    const base = await parsingServer(toNodeHandler(proxyFor(idp)), (raw) => raw.toString("utf8"));
    const login = await loggedIn(base);
    const response = await fetch(base, { method: "POST", headers: login.headers, body: codeExchange("", login.state) });
    expect(response.status).toBe(200);
    expect((idp.calls[0] as IdpCall).form.get("code")).toBe("c0de");
  });

  it("a body pre-parsed as raw bytes (express.raw()) keeps the UTF-8 rule", async () => {
    const idp = createStubIdp();
    const base = await parsingServer(toNodeHandler(proxyFor(idp)), (raw) => raw);
    const [before = "", after = ""] = codeExchange().split("code=c0de");
    const bytes = Buffer.concat([Buffer.from(`${before}code=c0de`), Buffer.from([0xff, 0xfe]), Buffer.from(after)]);
    const response = await fetch(base, { method: "POST", headers: proxyHeaders, body: bytes });
    expect(idp.calls).toHaveLength(0);
    expect(response.status).toBe(400);
  });
});
