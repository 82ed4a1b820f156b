// @vitest-environment node
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from "vitest";
import { createTokenProxy, type TokenProxy, type TokenProxyOptions } from "../../../src/server/createTokenProxy.js";
import {
  APP_ORIGIN,
  CLIENT_ID,
  CLIENT_SECRET,
  COOKIE_SECRET,
  createSigner,
  createStubIdp,
  DISCOVERY_URL,
  ISSUER,
  JWKS_URI,
  LOCAL_ORIGIN,
  LOCAL_REDIRECT_URI,
  oauthError,
  OTHER_COOKIE_SECRET,
  REDIRECT_URI,
  REVOCATION_ENDPOINT,
  TOKEN_ENDPOINT,
  unsignedJwt,
  VERIFIER,
  rememberLoginNonce,
  type IdpCall,
  type Signer,
  type StubIdp,
  type StubIdpOptions,
} from "./stubIdp.js";

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

interface Result {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
  /** Set-Cookie headers, but the login transactions' (`…-login`). */
  cookies: string[];
  loginCookies: string[];
}

/** Every proxy response of this file, checked at the end for leaked secrets and tokens. */
interface Collected {
  label: string;
  status: number;
  headers: [string, string][];
  text: string;
  /** Token values allowed in this body: the ones the IdP issued for this very request, on a 200. */
  allowedInBody: string[];
}
const collected: Collected[] = [];
const idps: StubIdp[] = [];
const cookieSecretsUsed = new Set<string>([COOKIE_SECRET, OTHER_COOKIE_SECRET]);

interface Harness {
  idp: StubIdp;
  proxy: TokenProxy;
  send(request: Request): Promise<Result>;
}

/** A proxy configured without discovery (token, revocation and JWKS endpoints given), over a fresh stub IdP. */
function harness(overrides: Partial<TokenProxyOptions> = {}, idpOrOptions: StubIdp | StubIdpOptions = {}): Harness {
  const idp = "calls" in idpOrOptions ? idpOrOptions : createStubIdp(idpOrOptions);
  if (!idps.includes(idp)) idps.push(idp);
  const options: TokenProxyOptions = {
    tokenEndpoint: TOKEN_ENDPOINT,
    revocationEndpoint: REVOCATION_ENDPOINT,
    jwksUri: JWKS_URI,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    allowedOrigins: [APP_ORIGIN, LOCAL_ORIGIN],
    redirectUris: [REDIRECT_URI, LOCAL_REDIRECT_URI],
    cookie: { secrets: [COOKIE_SECRET] },
    fetch: idp.fetch,
    ...overrides,
  };
  for (const secret of options.cookie?.secrets ?? []) cookieSecretsUsed.add(secret);
  const passthrough = options.refreshToken === "passthrough";
  const proxy = createTokenProxy(options);
  return {
    idp,
    proxy,
    async send(original) {
      const request = await withLogin(original, proxy);
      const before = { access: idp.issued.access.length, refresh: idp.issued.refresh.length, id: idp.issued.id.length };
      const label = `${request.method} ${request.url}`;
      const response = await proxy(request);
      const text = await response.text();
      const fresh = [
        ...idp.issued.access.slice(before.access),
        ...idp.issued.id.slice(before.id),
        ...(passthrough ? idp.issued.refresh.slice(before.refresh) : []),
      ];
      collected.push({ label, status: response.status, headers: [...response.headers], text, allowedInBody: response.status === 200 ? fresh : [] });
      let json: Record<string, unknown> = {};
      if (text !== "") json = JSON.parse(text) as Record<string, unknown>;
      // The refresh-token cookie is what most tests look at; the login-transaction cookie has tests of its own.
      const all = response.headers.getSetCookie();
      const isLogin = (c: string) => /^(__Host-)?[\w-]+-login=/.test(c);
      return { status: response.status, headers: response.headers, text, json, cookies: all.filter((c) => !isLogin(c)), loginCookies: all.filter(isLogin) };
    },
  };
}

/** The same as {@link harness}, but the endpoints come from discovery at {@link ISSUER}. */
function discoveryHarness(overrides: Partial<TokenProxyOptions> = {}, idpOrOptions: StubIdp | StubIdpOptions = {}): Harness {
  return harness({ issuer: ISSUER, tokenEndpoint: undefined, revocationEndpoint: undefined, jwksUri: undefined, ...overrides }, idpOrOptions);
}

interface PostInit {
  origin?: string | null;
  marker?: string | null;
  contentType?: string | null;
  cookie?: string;
  url?: string;
  headers?: Record<string, string>;
}

const PROXY_URL = `${APP_ORIGIN}/auth/token`;

/** A request as the react-sso client sends it, with any part replaced. */
function post(body: Record<string, string> | BodyInit | null, init: PostInit = {}): Request {
  const headers = new Headers(init.headers);
  if (init.origin !== null) headers.set("origin", init.origin ?? APP_ORIGIN);
  if (init.marker !== null) headers.set("x-react-sso", init.marker ?? "1");
  if (init.contentType !== null) headers.set("content-type", init.contentType ?? "application/x-www-form-urlencoded;charset=UTF-8");
  if (init.cookie !== undefined) headers.set("cookie", init.cookie);
  const isRecord = body !== null && typeof body === "object" && Object.getPrototypeOf(body) === Object.prototype;
  const payload = isRecord ? new URLSearchParams(body as Record<string, string>).toString() : (body as BodyInit | null);
  const request = new Request(init.url ?? PROXY_URL, {
    method: "POST",
    headers,
    body: payload,
    ...(payload instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
  if (payload instanceof ReadableStream) streamed.add(request);
  return request;
}
const streamed = new WeakSet<Request>();

/**
 * Stands for "the state of a login this browser started": the harness runs the proxy's login step
 * (action=login) first, as the browser does, and sends the exchange with its state and cookie.
 */
// URL-safe and 43 characters long, as a real state, so that a body's size stays what the test made it.
const LOGIN = "login-started-at-the-proxy-----------------";

const codeExchange = (extra: Record<string, string> = {}): Record<string, string> => ({
  grant_type: "authorization_code",
  code: "SplxlOBeZQQYbYS6WxSbIA",
  redirect_uri: REDIRECT_URI,
  state: LOGIN,
  client_id: CLIENT_ID,
  ...extra,
});

/** The proxy's login step for `redirectUri`, from `origin`: its state, challenge, and the cookie that holds the transaction. */
async function startLoginAt(proxy: TokenProxy, redirectUri: string, origin: string, cookie?: string, clientId = CLIENT_ID) {
  const response = await proxy(post({ action: "login", client_id: clientId, redirect_uri: redirectUri }, { origin, ...(cookie && { cookie }) }));
  const body = (await response.json()) as { state: string; nonce: string; code_challenge: string };
  rememberLoginNonce(body.nonce);
  const set = response.headers.getSetCookie().map((c) => c.split(";")[0] as string);
  return { ...body, cookie: set.join("; ") };
}

/** Replaces {@link LOGIN} in a code exchange with a real login's state, adding its cookie to the request's. */
async function withLogin(request: Request, proxy: TokenProxy): Promise<Request> {
  // A streamed body is the test's own: reading it here would change what the proxy sees.
  if (streamed.has(request)) return request;
  const text = await request.clone().text().catch(() => "");
  const form = new URLSearchParams(text);
  if (form.get("state") !== LOGIN) return request;
  const origin = request.headers.get("origin") ?? APP_ORIGIN;
  const login = await startLoginAt(proxy, form.get("redirect_uri") ?? REDIRECT_URI, origin, undefined, form.get("client_id") ?? CLIENT_ID);
  form.set("state", login.state);
  const headers = new Headers(request.headers);
  headers.set("cookie", [request.headers.get("cookie"), login.cookie].filter(Boolean).join("; "));
  return new Request(request.url, { method: request.method, headers, body: form.toString() });
}
const refresh = (extra: Record<string, string> = {}) => ({ grant_type: "refresh_token", client_id: CLIENT_ID, ...extra });

/** Asserts an RFC 6749 §5.2-shaped error that may not be cached. */
function expectOAuthError(result: Result, status: number, error?: string): void {
  expect(result.status).toBe(status);
  expect(result.headers.get("content-type")).toMatch(/^application\/json/);
  expect(result.headers.get("cache-control")).toBe("no-store");
  expect(typeof result.json.error).toBe("string");
  expect(result.json.error).not.toBe("");
  expect(typeof result.json.error_description).toBe("string");
  if (error !== undefined) expect(result.json.error).toBe(error);
}

interface ParsedCookie {
  name: string;
  value: string;
  attributes: Map<string, string>;
}
function parseSetCookie(header: string): ParsedCookie {
  const [pair = "", ...attrs] = header.split(";").map((s) => s.trim());
  const eq = pair.indexOf("=");
  const attributes = new Map<string, string>();
  for (const attr of attrs) {
    const i = attr.indexOf("=");
    attributes.set((i < 0 ? attr : attr.slice(0, i)).toLowerCase(), i < 0 ? "" : attr.slice(i + 1));
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
}
function onlyCookie(result: Result): ParsedCookie {
  expect(result.cookies).toHaveLength(1);
  return parseSetCookie(result.cookies[0] as string);
}
const cookieHeader = (cookie: ParsedCookie) => `${cookie.name}=${cookie.value}`;
function expectClearing(cookie: ParsedCookie, name: string): void {
  expect(cookie.name).toBe(name);
  expect(cookie.value).toBe("");
  expect(cookie.attributes.get("max-age")).toBe("0");
  expect(cookie.attributes.get("path")).toBe("/");
}

const HTTPS_COOKIE = "__Host-react-sso-rt";
const HTTP_COOKIE = "react-sso-rt";

/** Signs in through the proxy (cookie mode) and returns the sealed cookie it set. */
async function signIn(h: Harness, origin = APP_ORIGIN): Promise<ParsedCookie> {
  const redirect = origin === APP_ORIGIN ? REDIRECT_URI : LOCAL_REDIRECT_URI;
  const result = await h.send(post(codeExchange({ redirect_uri: redirect }), { origin }));
  expect(result.status).toBe(200);
  return onlyCookie(result);
}

function decodeBasic(call: IdpCall): { raw: string; id: string; secret: string } {
  const header = call.headers.get("authorization") ?? "";
  expect(header).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
  const raw = Buffer.from(header.slice("Basic ".length), "base64").toString("utf8");
  const colon = raw.indexOf(":");
  const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));
  return { raw, id: formDecode(raw.slice(0, colon)), secret: formDecode(raw.slice(colon + 1)) };
}

// Guards: the proxy must use only the fetch it was given, and never write to the console.
const globalFetch = vi.fn(async () => {
  throw new Error("the real network must not be used by the token proxy tests");
});
const consoleSpies: MockInstance[] = [];
beforeAll(() => {
  vi.stubGlobal("fetch", globalFetch);
  for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) consoleSpies.push(vi.spyOn(console, method));
});
afterAll(() => {
  vi.unstubAllGlobals();
});

// ---------------------------------------------------------------------------------------------
// Rejections: each answers an OAuth-shaped, uncacheable error and causes no request to the IdP
// ---------------------------------------------------------------------------------------------

describe("rejections", () => {
  describe("method", () => {
    it.each(["GET", "PUT", "PATCH", "DELETE", "HEAD"])("%s → 405 with Allow", async (method) => {
      const h = harness();
      const result = await h.send(new Request(PROXY_URL, { method, headers: { origin: APP_ORIGIN, "x-react-sso": "1" } }));
      expectOAuthError(result, 405);
      expect(result.headers.get("allow")?.split(",").map((m) => m.trim())).toContain("POST");
      expect(h.idp.calls).toHaveLength(0);
    });
  });

  describe("origin", () => {
    it.each([
      ["no Origin", null],
      ["Origin: null", "null"],
      ["a foreign origin", "https://evil.example.com"],
      ["a look-alike suffix", "https://app.example.com.evil.example"],
      ["another scheme", "http://app.example.com"],
      ["another port", "https://app.example.com:8443"],
      ["a trailing slash", "https://app.example.com/"],
      ["other case", "https://APP.example.com"],
    ])("%s → 403 without Access-Control-Allow-Origin", async (_, origin) => {
      const h = harness();
      const result = await h.send(post(codeExchange(), { origin }));
      expectOAuthError(result, 403);
      expect(result.headers.has("access-control-allow-origin")).toBe(false);
      expect(result.headers.has("access-control-allow-credentials")).toBe(false);
      expect(h.idp.calls).toHaveLength(0);
    });
  });

  describe("X-React-SSO header", () => {
    it.each([
      ["missing", null],
      ["0", "0"],
      ["true", "true"],
      ["empty", ""],
    ])("%s → 403", async (_, marker) => {
      const h = harness();
      const result = await h.send(post(codeExchange(), { marker }));
      expectOAuthError(result, 403);
      expect(h.idp.calls).toHaveLength(0);
    });
  });

  describe("content type", () => {
    it.each([
      ["application/json", JSON.stringify(codeExchange())],
      ["text/plain", new URLSearchParams(codeExchange()).toString()],
      ["multipart/form-data; boundary=xyz", `--xyz\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nauthorization_code\r\n--xyz--`],
      ["application/x-www-form-urlencoded-evil", new URLSearchParams(codeExchange()).toString()],
    ])("%s → 415", async (contentType, body) => {
      const h = harness();
      const result = await h.send(post(body, { contentType }));
      expectOAuthError(result, 415);
      expect(h.idp.calls).toHaveLength(0);
    });

    it("no Content-Type → 415", async () => {
      const h = harness();
      const result = await h.send(post(new Uint8Array(Buffer.from(new URLSearchParams(codeExchange()).toString())), { contentType: null }));
      expectOAuthError(result, 415);
      expect(h.idp.calls).toHaveLength(0);
    });
  });

  describe("body size", () => {
    /** A code exchange padded (through the code) to exactly `size` bytes. */
    function formOfSize(size: number): string {
      const base = new URLSearchParams(codeExchange({ code: "" })).toString();
      const form = new URLSearchParams(codeExchange({ code: "c".repeat(size - base.length) })).toString();
      expect(form.length).toBe(size);
      return form;
    }

    it("a body of exactly maxBodyBytes (default 8192) is accepted, one byte more is 413", async () => {
      const h = harness();
      expect((await h.send(post(formOfSize(8192)))).status).toBe(200);
      expect(h.idp.callsTo(TOKEN_ENDPOINT)).toHaveLength(1);
      const result = await h.send(post(formOfSize(8193)));
      expectOAuthError(result, 413);
      expect(h.idp.calls).toHaveLength(1);
    });

    it("an honest Content-Length over the limit → 413 without reading the body", async () => {
      const h = harness({ maxBodyBytes: 100 });
      let pulled = false;
      const body = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            pulled = true;
            controller.enqueue(new Uint8Array(200).fill(0x61));
            controller.close();
          },
        },
        { highWaterMark: 0 },
      );
      const result = await h.send(post(body, { headers: { "content-length": "200" } }));
      expectOAuthError(result, 413);
      expect(pulled).toBe(false);
      expect(h.idp.calls).toHaveLength(0);
    });

    it("a lying Content-Length (smaller than the body) → 413", async () => {
      const h = harness({ maxBodyBytes: 100 });
      const result = await h.send(post(formOfSize(300), { headers: { "content-length": "10" } }));
      expectOAuthError(result, 413);
      expect(h.idp.calls).toHaveLength(0);
    });

    it("a streamed body without Content-Length that exceeds the limit → 413, and reading stops", async () => {
      const h = harness();
      let chunksPulled = 0;
      const chunk = new TextEncoder().encode(`${new URLSearchParams(codeExchange()).toString()}&pad=${"x".repeat(1024)}`);
      // ~66 kB in all: finite, so that a proxy without the limit ends (and fails) instead of hanging.
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          chunksPulled++;
          if (chunksPulled > 64) controller.close();
          else controller.enqueue(chunk);
        },
      });
      const result = await h.send(post(body));
      expectOAuthError(result, 413);
      // 8192 bytes are passed after ~7 chunks: the rest of the stream was not drained.
      expect(chunksPulled).toBeLessThan(20);
      expect(h.idp.calls).toHaveLength(0);
    });
  });

  describe("form encoding", () => {
    it("a body that is not UTF-8 → 400", async () => {
      const h = harness();
      // The invalid bytes sit inside the code's value: decoded leniently, the exchange would go through.
      const [before = "", after = ""] = new URLSearchParams(codeExchange({ code: "c0de" })).toString().split("code=c0de");
      const bytes = Buffer.concat([Buffer.from(`${before}code=c0de`), Buffer.from([0xff, 0xfe]), Buffer.from(after)]);
      const result = await h.send(post(new Uint8Array(bytes)));
      expectOAuthError(result, 400, "invalid_request");
      expect(h.idp.calls).toHaveLength(0);
    });

    it.each(["code", "grant_type", "redirect_uri", "client_id"])("a repeated %s → 400", async (name) => {
      const h = harness();
      const params = new URLSearchParams(codeExchange());
      params.append(name, params.get(name) ?? "x");
      const result = await h.send(post(params.toString()));
      expectOAuthError(result, 400, "invalid_request");
      expect(h.idp.calls).toHaveLength(0);
    });
  });

  describe("grant type", () => {
    it.each([
      ["missing", undefined],
      ["empty", ""],
      ["password", "password"],
      ["client_credentials", "client_credentials"],
      ["token exchange", "urn:ietf:params:oauth:grant-type:token-exchange"],
      ["device code", "urn:ietf:params:oauth:grant-type:device_code"],
      ["jwt bearer", "urn:ietf:params:oauth:grant-type:jwt-bearer"],
      ["implicit", "implicit"],
    ])("%s → 400 unsupported_grant_type", async (_, grantType) => {
      const h = harness();
      const params: Record<string, string> = { client_id: CLIENT_ID, username: "ada", password: "pw", scope: "openid" };
      if (grantType !== undefined) params.grant_type = grantType;
      const result = await h.send(post(params));
      expectOAuthError(result, 400, "unsupported_grant_type");
      expect(h.idp.calls).toHaveLength(0);
    });

    it("an action other than logout → 400 unsupported_grant_type", async () => {
      const h = harness();
      const result = await h.send(post({ action: "introspect", token: "x" }));
      expectOAuthError(result, 400, "unsupported_grant_type");
      expect(h.idp.calls).toHaveLength(0);
    });

    it.each(["constructor", "__proto__", "toString", "hasOwnProperty"])(
      "grant_type=%s (an Object.prototype name) → 400 unsupported_grant_type",
      async (grantType) => {
        const h = harness();
        const result = await h.send(post({ grant_type: grantType, code: "x" }));
        expect(h.idp.calls).toHaveLength(0);
        expectOAuthError(result, 400, "unsupported_grant_type");
      },
    );
  });

  describe("client authentication belongs to the proxy", () => {
    it.each(["client_secret", "client_assertion", "client_assertion_type"])("%s in the body → 400", async (name) => {
      for (const params of [codeExchange({ [name]: "from-the-browser" }), refresh({ [name]: "from-the-browser" })]) {
        const h = harness();
        const result = await h.send(post(params));
        expectOAuthError(result, 400, "invalid_request");
        expect(h.idp.calls).toHaveLength(0);
      }
    });

    it.each([
      ["another client", "other-spa"],
      ["an empty client_id", ""],
      ["a case variant", "MY-SPA"],
    ])("%s → 401 invalid_client", async (_, clientId) => {
      const h = harness();
      const result = await h.send(post(codeExchange({ client_id: clientId })));
      expectOAuthError(result, 401, "invalid_client");
      expect(h.idp.calls).toHaveLength(0);
    });

    it.each([
      ["authorization_code", codeExchange({ scope: "openid admin" })],
      ["authorization_code", codeExchange({ resource: "https://api.example.com" })],
      ["authorization_code", codeExchange({ token_endpoint: "https://evil.example.com/token" })],
      ["authorization_code", codeExchange({ refresh_token: "x" })],
      ["refresh_token", refresh({ audience: "other" })],
      ["refresh_token", refresh({ code: "x" })],
      ["logout", { action: "logout", redirect_uri: REDIRECT_URI }],
    ])("an unknown parameter for %s → 400", async (_, params) => {
      const h = harness();
      const result = await h.send(post(params));
      expectOAuthError(result, 400, "invalid_request");
      expect(h.idp.calls).toHaveLength(0);
    });
  });

  describe("authorization_code", () => {
    it.each([
      ["another site", "https://evil.example.com/callback"],
      ["a trailing slash", `${REDIRECT_URI}/`],
      ["other case in the path", `${APP_ORIGIN}/Callback`],
      ["other case in the host", "https://APP.example.com/callback"],
      ["an extra query", `${REDIRECT_URI}?next=/admin`],
      ["a fragment", `${REDIRECT_URI}#x`],
      ["another scheme", "http://app.example.com/callback"],
      ["empty", ""],
    ])("a redirect_uri not in the allowlist (%s) → 400", async (_, redirectUri) => {
      const h = harness();
      const result = await h.send(post(codeExchange({ redirect_uri: redirectUri })));
      expectOAuthError(result, 400, "invalid_request");
      expect(h.idp.calls).toHaveLength(0);
    });

    it.each(["redirect_uri", "code", "state"])("a missing %s → 400", async (name) => {
      for (const value of [undefined, ""]) {
        const h = harness();
        const params = codeExchange();
        if (value === undefined) delete params[name];
        else params[name] = value;
        const result = await h.send(post(params));
        expectOAuthError(result, 400, "invalid_request");
        expect(h.idp.calls).toHaveLength(0);
      }
    });
  });

  describe("refresh in cookie mode", () => {
    it("a refresh_token in the body → 400 (the refresh token stays in its cookie)", async () => {
      const h = harness();
      const cookie = await signIn(h);
      const calls = h.idp.calls.length;
      const result = await h.send(post(refresh({ refresh_token: h.idp.issued.refresh[0] as string }), { cookie: cookieHeader(cookie) }));
      expectOAuthError(result, 400, "invalid_request");
      expect(h.idp.calls).toHaveLength(calls);
    });

    it("no cookie → 400 invalid_grant, no upstream call", async () => {
      const h = harness();
      const result = await h.send(post(refresh()));
      expectOAuthError(result, 400, "invalid_grant");
      expect(result.cookies).toEqual([]);
      expect(h.idp.calls).toHaveLength(0);
    });

    it("a cookie under another name only → 400 invalid_grant", async () => {
      const h = harness();
      const cookie = await signIn(h);
      const calls = h.idp.calls.length;
      const result = await h.send(post(refresh(), { cookie: `x-${cookie.name}=${cookie.value}; session=abc` }));
      expectOAuthError(result, 400, "invalid_grant");
      expect(h.idp.calls).toHaveLength(calls);
    });

    it("a tampered cookie → 400 invalid_grant and a clearing Set-Cookie, no upstream call", async () => {
      const h = harness();
      const cookie = await signIn(h);
      const calls = h.idp.calls.length;
      const parts = cookie.value.split(".");
      const ciphertext = parts[3] as string;
      parts[3] = (ciphertext[0] === "A" ? "B" : "A") + ciphertext.slice(1);
      const result = await h.send(post(refresh(), { cookie: `${cookie.name}=${parts.join(".")}` }));
      expectOAuthError(result, 400, "invalid_grant");
      expectClearing(onlyCookie(result), HTTPS_COOKIE);
      expect(h.idp.calls).toHaveLength(calls);
    });

    it("a cookie sealed with a secret this proxy does not hold → 400 invalid_grant and a clearing Set-Cookie", async () => {
      const other = harness({ cookie: { secrets: [OTHER_COOKIE_SECRET] } });
      const foreign = await signIn(other);
      const h = harness();
      const result = await h.send(post(refresh(), { cookie: cookieHeader(foreign) }));
      expectOAuthError(result, 400, "invalid_grant");
      expectClearing(onlyCookie(result), HTTPS_COOKIE);
      expect(h.idp.calls).toHaveLength(0);
    });

    it("garbage in the cookie → 400 invalid_grant", async () => {
      const h = harness();
      const result = await h.send(post(refresh(), { cookie: `${HTTPS_COOKIE}=not-a-jwe` }));
      expectOAuthError(result, 400, "invalid_grant");
      expect(h.idp.calls).toHaveLength(0);
    });
  });

  describe("passthrough refresh", () => {
    it("without refresh_token → 400", async () => {
      const h = harness({ refreshToken: "passthrough" });
      const result = await h.send(post(refresh()));
      expectOAuthError(result, 400, "invalid_request");
      expect(h.idp.calls).toHaveLength(0);
    });
  });

  describe("CORS preflight", () => {
    const preflight = (origin: string | null, method: string | null, requested: string | null) => {
      const headers = new Headers();
      if (origin !== null) headers.set("origin", origin);
      if (method !== null) headers.set("access-control-request-method", method);
      if (requested !== null) headers.set("access-control-request-headers", requested);
      return new Request(PROXY_URL, { method: "OPTIONS", headers });
    };

    it.each([APP_ORIGIN, LOCAL_ORIGIN])("from %s, for POST with content-type and x-react-sso → 204 naming that origin", async (origin) => {
      const h = harness();
      const result = await h.send(preflight(origin, "POST", "content-type,x-react-sso"));
      expect(result.status).toBe(204);
      expect(result.headers.get("access-control-allow-origin")).toBe(origin);
      expect(result.headers.get("access-control-allow-credentials")).toBe("true");
      const allowedHeaders = (result.headers.get("access-control-allow-headers") ?? "").split(",").map((x) => x.trim().toLowerCase());
      expect(allowedHeaders).toEqual(expect.arrayContaining(["content-type", "x-react-sso"]));
      expect(result.headers.get("access-control-allow-methods")).toContain("POST");
      expect(result.headers.get("vary")).toContain("Origin");
      expect(h.idp.calls).toHaveLength(0);
    });

    it("accepts the requested headers in any case and spacing", async () => {
      const h = harness();
      const result = await h.send(preflight(APP_ORIGIN, "POST", " Content-Type , X-React-SSO "));
      expect(result.status).toBe(204);
      expect(result.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
    });

    it.each([
      ["a foreign origin", "https://evil.example.com", "POST", "content-type, x-react-sso"],
      ["no origin", null, "POST", "content-type, x-react-sso"],
      ["Origin: null", "null", "POST", "content-type, x-react-sso"],
      ["another method", APP_ORIGIN, "PUT", "content-type, x-react-sso"],
      ["no requested method", APP_ORIGIN, null, "content-type, x-react-sso"],
      ["an extra Authorization header", APP_ORIGIN, "POST", "content-type, x-react-sso, authorization"],
      ["an extra X-Forwarded-Host header", APP_ORIGIN, "POST", "content-type, x-react-sso, x-forwarded-host"],
    ])("%s → 403 without Access-Control-Allow-Origin", async (_, origin, method, requested) => {
      const h = harness();
      const result = await h.send(preflight(origin, method, requested));
      expect(result.status).toBe(403);
      expect(result.headers.has("access-control-allow-origin")).toBe(false);
      expect(result.headers.has("access-control-allow-credentials")).toBe(false);
      expect(h.idp.calls).toHaveLength(0);
    });

    it("never answers `*`, whatever the origin", async () => {
      for (const origin of [APP_ORIGIN, "https://evil.example.com", "*"]) {
        const h = harness();
        const result = await h.send(preflight(origin, "POST", "content-type"));
        expect(result.headers.get("access-control-allow-origin")).not.toBe("*");
      }
    });
  });

  describe("the upstream is fixed by configuration", () => {
    const hostile = {
      url: "https://evil.example.net/auth/token?token_endpoint=https://evil.example.net/token&issuer=https://evil.example.net",
      headers: {
        host: "evil.example.net",
        "x-forwarded-host": "evil.example.net",
        "x-forwarded-proto": "http",
        "x-forwarded-port": "8080",
        forwarded: "host=evil.example.net;proto=http",
        "x-original-url": "https://evil.example.net/token",
      },
    };

    it("Host, X-Forwarded-* and the request URL do not change where the code goes", async () => {
      const h = harness();
      const result = await h.send(post(codeExchange(), hostile));
      expect(result.status).toBe(200);
      expect(h.idp.calls.map((c) => c.url)).toEqual([TOKEN_ENDPOINT]);
    });

    it("nor where a refresh goes", async () => {
      const h = harness();
      const cookie = await signIn(h);
      const result = await h.send(post(refresh(), { ...hostile, cookie: cookieHeader(cookie) }));
      expect(result.status).toBe(200);
      expect(h.idp.calls.map((c) => c.url)).toEqual([TOKEN_ENDPOINT, TOKEN_ENDPOINT]);
    });

    it("nor, with discovery, where discovery and the code go", async () => {
      const h = discoveryHarness();
      const result = await h.send(post(codeExchange(), hostile));
      expect(result.status).toBe(200);
      expect(h.idp.calls.map((c) => c.url)).toEqual([DISCOVERY_URL, TOKEN_ENDPOINT]);
    });

    it("the browser's Cookie, Origin and X-React-SSO headers are not forwarded to the IdP", async () => {
      const h = harness();
      const cookie = await signIn(h);
      await h.send(post(refresh(), { ...hostile, cookie: `${cookieHeader(cookie)}; other=1` }));
      for (const call of h.idp.calls) {
        for (const name of ["cookie", "origin", "x-react-sso", "host", "x-forwarded-host", "forwarded", "x-original-url"]) {
          expect(call.headers.has(name), `${name} forwarded`).toBe(false);
        }
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Valid paths
// ---------------------------------------------------------------------------------------------

describe("the login step binds each login to the browser that started it", () => {
  async function sha256(text: string): Promise<string> {
    return Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))).toString("base64url");
  }

  it("answers state, nonce and an S256 challenge, and keeps the transaction in a sealed HttpOnly, SameSite=Strict, __Host- cookie of at most 15 minutes", async () => {
    const h = harness();
    const result = await h.send(post({ action: "login", client_id: CLIENT_ID, redirect_uri: REDIRECT_URI }));
    expect(result.status).toBe(200);
    expect(Object.keys(result.json).sort()).toEqual(["code_challenge", "code_challenge_method", "nonce", "state"]);
    expect(result.json.code_challenge_method).toBe("S256");
    expect(result.json).not.toHaveProperty("code_verifier");
    expect(result.loginCookies).toHaveLength(1);
    const cookie = parseSetCookie(result.loginCookies[0] as string);
    expect(cookie.name).toBe("__Host-react-sso-rt-login");
    expect(cookie.attributes.has("httponly")).toBe(true);
    expect(cookie.attributes.get("samesite")).toBe("Strict");
    expect(cookie.attributes.has("secure")).toBe(true);
    expect(Number(cookie.attributes.get("max-age"))).toBeLessThanOrEqual(900);
    // Sealed: neither the state nor the nonce can be read from it.
    expect(cookie.value).not.toContain(result.json.state as string);
    expect(h.idp.calls).toHaveLength(0);
  });

  it("the exchange uses the verifier of that login, whose S256 is the challenge the browser sent to the IdP", async () => {
    const h = harness();
    const login = await startLoginAt(h.proxy, REDIRECT_URI, APP_ORIGIN);
    const result = await h.send(post(codeExchange({ state: login.state }), { cookie: login.cookie }));
    expect(result.status).toBe(200);
    const verifier = (h.idp.callsTo(TOKEN_ENDPOINT)[0] as IdpCall).form.get("code_verifier") as string;
    expect(await sha256(verifier)).toBe(login.code_challenge);
  });

  it.each<[string, (login: { state: string; cookie: string }) => { body: Record<string, string>; cookie?: string }]>([
    ["everything page script sees, without the browser's cookie (another machine)", (l) => ({ body: codeExchange({ state: l.state }) })],
    ["a state no login of this browser started", (l) => ({ body: codeExchange({ state: "s-from-an-attacker's-own-login" }), cookie: l.cookie })],
    ["the right state for another redirect URI", (l) => ({ body: codeExchange({ state: l.state, redirect_uri: LOCAL_REDIRECT_URI }), cookie: l.cookie })],
    ["a code_verifier sent by the browser", (l) => ({ body: codeExchange({ state: l.state, code_verifier: VERIFIER }), cookie: l.cookie })],
  ])("refuses %s, without asking the IdP", async (_, attack) => {
    const h = harness();
    const login = await startLoginAt(h.proxy, REDIRECT_URI, APP_ORIGIN);
    const { body, cookie } = attack(login);
    const result = await h.send(post(body, cookie === undefined ? {} : { cookie }));
    expectOAuthError(result, 400);
    expect(result.cookies).toEqual([]);
    expect(h.idp.calls).toHaveLength(0);
  });

  it("refuses a login cookie sealed by another proxy (another secret), without asking the IdP", async () => {
    const h = harness();
    const other = harness({ cookie: { secrets: [OTHER_COOKIE_SECRET] } }, h.idp);
    const foreign = await startLoginAt(other.proxy, REDIRECT_URI, APP_ORIGIN);
    const result = await h.send(post(codeExchange({ state: foreign.state }), { cookie: foreign.cookie }));
    expectOAuthError(result, 400, "invalid_grant");
    expect(h.idp.calls).toHaveLength(0);
  });

  it("a transaction is used once: the exchange's answer drops it from the cookie, and that state is refused after", async () => {
    const h = harness();
    const login = await startLoginAt(h.proxy, REDIRECT_URI, APP_ORIGIN);
    const first = await h.send(post(codeExchange({ state: login.state }), { cookie: login.cookie }));
    expect(first.status).toBe(200);
    const after = parseSetCookie(first.loginCookies[0] as string);
    // The only login in the cookie is gone, so the cookie goes.
    expect(after.value).toBe("");
    expect(after.attributes.get("max-age")).toBe("0");
    const again = await h.send(post(codeExchange({ state: login.state })));
    expectOAuthError(again, 400, "invalid_grant");
    expect(h.idp.callsTo(TOKEN_ENDPOINT)).toHaveLength(1);
  });

  it("two logins at once (two tabs) both complete, each with its own transaction", async () => {
    const h = harness();
    const a = await startLoginAt(h.proxy, REDIRECT_URI, APP_ORIGIN);
    const b = await startLoginAt(h.proxy, REDIRECT_URI, APP_ORIGIN, a.cookie);
    // The browser keeps the newest cookie, which holds both.
    const first = await h.send(post(codeExchange({ state: a.state, code: "code-a" }), { cookie: b.cookie }));
    expect(first.status).toBe(200);
    const remaining = parseSetCookie(first.loginCookies[0] as string);
    const second = await h.send(post(codeExchange({ state: b.state, code: "code-b" }), { cookie: `${remaining.name}=${remaining.value}` }));
    expect(second.status).toBe(200);
  });

  it("keeps a few logins at most: the oldest of many goes", async () => {
    const h = harness();
    let latest = await startLoginAt(h.proxy, REDIRECT_URI, APP_ORIGIN);
    const first = latest;
    for (let i = 0; i < 4; i++) latest = await startLoginAt(h.proxy, REDIRECT_URI, APP_ORIGIN, latest.cookie);
    expectOAuthError(await h.send(post(codeExchange({ state: first.state }), { cookie: latest.cookie })), 400, "invalid_grant");
    expect((await h.send(post(codeExchange({ state: latest.state }), { cookie: latest.cookie }))).status).toBe(200);
  });

  it("refuses a login step for a redirect URI it does not allow", async () => {
    const h = harness();
    const result = await h.send(post({ action: "login", client_id: CLIENT_ID, redirect_uri: "https://evil.example.com/cb" }));
    expectOAuthError(result, 400, "invalid_request");
    expect(result.loginCookies).toEqual([]);
  });
});

describe("the code exchange", () => {
  it("client_secret_basic: forwards exactly grant_type, code, redirect_uri, code_verifier, with HTTP Basic (RFC 6749 §2.3.1)", async () => {
    const h = harness({ clientAuthentication: "client_secret_basic" });
    const result = await h.send(post(codeExchange()));
    expect(result.status).toBe(200);
    expect(result.json.access_token).toBe(h.idp.issued.access[0]);
    const [call, ...others] = h.idp.calls;
    expect(others).toHaveLength(0);
    if (!call) throw new Error("no token request");
    expect(call.url).toBe(TOKEN_ENDPOINT);
    expect(call.method).toBe("POST");
    expect(call.headers.get("content-type")).toMatch(/^application\/x-www-form-urlencoded/);
    expect([...call.form.keys()].sort()).toEqual(["code", "code_verifier", "grant_type", "redirect_uri"]);
    expect(Object.fromEntries(call.form)).toEqual({
      grant_type: "authorization_code",
      code: "SplxlOBeZQQYbYS6WxSbIA",
      redirect_uri: REDIRECT_URI,
      code_verifier: expect.stringMatching(/^[\w-]{43}$/),
    });
    // The verifier is the proxy's own, never one the browser sent.
    expect(call.form.get("code_verifier")).not.toBe(VERIFIER);
    const basic = decodeBasic(call);
    expect(basic.id).toBe(CLIENT_ID);
    expect(basic.secret).toBe(CLIENT_SECRET);
    // The secret is form-encoded before base64: its "+", "%" and ":" do not appear raw.
    const encodedSecret = basic.raw.slice(basic.raw.indexOf(":") + 1);
    expect(encodedSecret).not.toMatch(/[+:]|%(?![0-9A-F]{2})/);
    expect(basic.raw.split(":")).toHaveLength(2);
    // Unreserved characters go as they are: many servers never decode "my%2Dspa".
    expect(basic.raw.slice(0, basic.raw.indexOf(":"))).toBe("my-spa");
  });

  it("with discovery listing client_secret_post and not client_secret_basic, the secret goes in the body", async () => {
    const idp = createStubIdp();
    const discovered = idp.routes.get(DISCOVERY_URL);
    if (!discovered) throw new Error("no discovery route");
    idp.routes.set(DISCOVERY_URL, async (call) => {
      const document = (await (await discovered(call)).json()) as Record<string, unknown>;
      return Response.json({ ...document, token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt"] });
    });
    const h = discoveryHarness({ clientAuthentication: undefined }, idp);
    expect((await h.send(post(codeExchange()))).status).toBe(200);
    const call = h.idp.callsTo(TOKEN_ENDPOINT)[0] as IdpCall;
    expect(call.headers.has("authorization")).toBe(false);
    expect(call.form.get("client_secret")).toBe(CLIENT_SECRET);
  });

  it("with discovery listing both, Basic stays the choice", async () => {
    const idp = createStubIdp();
    const discovered = idp.routes.get(DISCOVERY_URL);
    if (!discovered) throw new Error("no discovery route");
    idp.routes.set(DISCOVERY_URL, async (call) => {
      const document = (await (await discovered(call)).json()) as Record<string, unknown>;
      return Response.json({ ...document, token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"] });
    });
    const h = discoveryHarness({ clientAuthentication: undefined }, idp);
    await h.send(post(codeExchange()));
    expect(decodeBasic(h.idp.callsTo(TOKEN_ENDPOINT)[0] as IdpCall).secret).toBe(CLIENT_SECRET);
  });

  it("debug: one line per request to the IdP, with no token, code, verifier or secret", async () => {
    const lines: string[] = [];
    const h = harness({ debug: (line) => lines.push(line) });
    const cookie = await signIn(h);
    await h.send(post(refresh(), { cookie: cookieHeader(cookie) }));
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(new RegExp(`^react-sso POST ${TOKEN_ENDPOINT.replace(/[./]/g, "\\$&")} 200 \\d+ms$`));
    const secrets = [CLIENT_SECRET, VERIFIER, "SplxlOBeZQQYbYS6WxSbIA", ...h.idp.issued.access, ...h.idp.issued.refresh];
    for (const secret of secrets) expect(lines.join("\n")).not.toContain(secret);
  });

  it("client_secret_basic is the default", async () => {
    const h = harness({ clientAuthentication: undefined });
    await h.send(post(codeExchange()));
    const call = h.idp.calls[0] as IdpCall;
    expect(decodeBasic(call).secret).toBe(CLIENT_SECRET);
    expect(call.form.has("client_secret")).toBe(false);
  });

  it("client_secret_post: client_id and client_secret in the body, no Authorization", async () => {
    const h = harness({ clientAuthentication: "client_secret_post" });
    const result = await h.send(post(codeExchange()));
    expect(result.status).toBe(200);
    const call = h.idp.calls[0] as IdpCall;
    expect(call.headers.has("authorization")).toBe(false);
    expect(Object.fromEntries(call.form)).toEqual({
      grant_type: "authorization_code",
      code: "SplxlOBeZQQYbYS6WxSbIA",
      redirect_uri: REDIRECT_URI,
      code_verifier: expect.stringMatching(/^[\w-]{43}$/),
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
    });
  });

  it("a public client (no secret): client_id in the body, no Authorization", async () => {
    const h = harness({ clientSecret: undefined });
    const result = await h.send(post(codeExchange()));
    expect(result.status).toBe(200);
    const call = h.idp.calls[0] as IdpCall;
    expect(call.headers.has("authorization")).toBe(false);
    expect(Object.fromEntries(call.form)).toEqual({
      grant_type: "authorization_code",
      code: "SplxlOBeZQQYbYS6WxSbIA",
      redirect_uri: REDIRECT_URI,
      code_verifier: expect.stringMatching(/^[\w-]{43}$/),
      client_id: CLIENT_ID,
    });
  });

  it("the browser may omit client_id; the proxy still names its client", async () => {
    const h = harness({ clientAuthentication: "client_secret_post" });
    const params = codeExchange();
    delete params.client_id;
    expect((await h.send(post(params))).status).toBe(200);
    expect((h.idp.calls[0] as IdpCall).form.get("client_id")).toBe(CLIENT_ID);
  });

  it("answers with CORS headers for the calling origin, uncacheable", async () => {
    const h = harness();
    const result = await h.send(post(codeExchange()));
    expect(result.status).toBe(200);
    expect(result.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
    expect(result.headers.get("access-control-allow-credentials")).toBe("true");
    expect(result.headers.get("cache-control")).toBe("no-store");
    expect(result.headers.get("content-type")).toMatch(/^application\/json/);
    expect(result.json).toMatchObject({ token_type: "Bearer", expires_in: 300 });
  });
});

describe("cookie mode", () => {
  it("the code exchange answers without refresh_token and sets a sealed, HttpOnly, SameSite=Strict, __Host- cookie over https", async () => {
    const h = harness({ cookie: { secrets: [COOKIE_SECRET], maxAge: 3600 } });
    const result = await h.send(post(codeExchange()));
    expect(result.status).toBe(200);
    expect(result.json.access_token).toBe(h.idp.issued.access[0]);
    expect(result.json).not.toHaveProperty("refresh_token");
    expect(result.json).not.toHaveProperty("refresh_expires_in");
    const cookie = onlyCookie(result);
    expect(cookie.name).toBe(HTTPS_COOKIE);
    expect(cookie.attributes.has("httponly")).toBe(true);
    expect(cookie.attributes.get("samesite")?.toLowerCase()).toBe("strict");
    expect(cookie.attributes.get("path")).toBe("/");
    expect(cookie.attributes.has("secure")).toBe(true);
    expect(cookie.attributes.has("domain")).toBe(false);
    const maxAge = Number(cookie.attributes.get("max-age"));
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(3600);
    const refreshToken = h.idp.issued.refresh[0] as string;
    expect(cookie.value).not.toContain(refreshToken);
    expect(cookie.value).not.toContain(refreshToken.split("-").slice(2).join("-"));
    expect(cookie.value.split(".")).toHaveLength(5);
  });

  it("the default lifetime is at most 7 days", async () => {
    const h = harness();
    const cookie = await signIn(h);
    const maxAge = Number(cookie.attributes.get("max-age"));
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(7 * 24 * 3600);
  });

  it("Max-Age follows refresh_expires_in when the IdP states an earlier expiry", async () => {
    const h = harness({ cookie: { secrets: [COOKIE_SECRET], maxAge: 3600 } }, { refreshExpiresIn: 1800 });
    const result = await h.send(post(codeExchange()));
    expect(result.json).not.toHaveProperty("refresh_expires_in");
    const maxAge = Number(onlyCookie(result).attributes.get("max-age"));
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(1800);
  });

  it("Max-Age keeps the configured bound when refresh_expires_in is longer", async () => {
    const h = harness({ cookie: { secrets: [COOKIE_SECRET], maxAge: 600 } }, { refreshExpiresIn: 86_400 });
    const maxAge = Number(onlyCookie(await h.send(post(codeExchange()))).attributes.get("max-age"));
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(600);
  });

  it("over http://localhost the cookie is react-sso-rt, without Secure", async () => {
    const h = harness();
    const cookie = await signIn(h, LOCAL_ORIGIN);
    expect(cookie.name).toBe(HTTP_COOKIE);
    expect(cookie.attributes.has("secure")).toBe(false);
    expect(cookie.attributes.has("httponly")).toBe(true);
    expect(cookie.attributes.get("samesite")?.toLowerCase()).toBe("strict");
    // And it is read back under that name.
    const result = await h.send(post(refresh(), { origin: LOCAL_ORIGIN, cookie: cookieHeader(cookie) }));
    expect(result.status).toBe(200);
    expect((h.idp.calls[1] as IdpCall).form.get("refresh_token")).toBe(h.idp.issued.refresh[0]);
  });

  it("a configured cookie name gets the __Host- prefix over https", async () => {
    const h = harness({ cookie: { secrets: [COOKIE_SECRET], name: "my-rt" } });
    expect((await signIn(h)).name).toBe("__Host-my-rt");
    expect((await signIn(h, LOCAL_ORIGIN)).name).toBe("my-rt");
  });

  it("a refresh with the cookie sends the original refresh token upstream, with client authentication", async () => {
    const h = harness();
    const cookie = await signIn(h);
    const original = h.idp.issued.refresh[0] as string;
    const result = await h.send(post(refresh({ scope: "openid" }), { cookie: `theme=dark; ${cookieHeader(cookie)}; lang=en` }));
    expect(result.status).toBe(200);
    expect(result.json.access_token).toBe(h.idp.issued.access[1]);
    expect(result.json).not.toHaveProperty("refresh_token");
    const call = h.idp.calls[1] as IdpCall;
    expect(call.url).toBe(TOKEN_ENDPOINT);
    expect(Object.fromEntries(call.form)).toEqual({ grant_type: "refresh_token", refresh_token: original, scope: "openid" });
    expect(decodeBasic(call).secret).toBe(CLIENT_SECRET);
  });

  it("when the IdP rotates the refresh token, the cookie is replaced by one holding the new token", async () => {
    const h = harness();
    const first = await signIn(h);
    const result = await h.send(post(refresh(), { cookie: cookieHeader(first) }));
    expect(result.status).toBe(200);
    const second = onlyCookie(result);
    expect(second.name).toBe(first.name);
    expect(second.value).not.toBe(first.value);
    expect(second.attributes.has("httponly")).toBe(true);
    const rotated = h.idp.issued.refresh[1] as string;
    expect(second.value).not.toContain(rotated);
    // The new cookie carries the rotated token; the old one is now dead at the IdP.
    expect((await h.send(post(refresh(), { cookie: cookieHeader(second) }))).status).toBe(200);
    expect((h.idp.calls[2] as IdpCall).form.get("refresh_token")).toBe(rotated);
  });

  it("when the IdP does not rotate, the cookie is left alone", async () => {
    const h = harness({}, { rotate: false });
    const cookie = await signIn(h);
    const result = await h.send(post(refresh(), { cookie: cookieHeader(cookie) }));
    expect(result.status).toBe(200);
    expect(result.cookies).toEqual([]);
    expect(result.json).not.toHaveProperty("refresh_token");
  });

  it("when the IdP answers invalid_grant to a refresh, the cookie is cleared (Max-Age=0)", async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.idp.live.clear(); // the session ended at the IdP
    const result = await h.send(post(refresh(), { cookie: cookieHeader(cookie) }));
    expectOAuthError(result, 400, "invalid_grant");
    expectClearing(onlyCookie(result), HTTPS_COOKIE);
  });

  it("other refresh errors leave the cookie in place", async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.idp.routes.set(TOKEN_ENDPOINT, () => oauthError(400, "invalid_scope", "The scope is not granted."));
    const result = await h.send(post(refresh({ scope: "admin" }), { cookie: cookieHeader(cookie) }));
    expectOAuthError(result, 400, "invalid_scope");
    expect(result.cookies).toEqual([]);
  });

  it("secrets rotate: a cookie sealed under the old secret still opens once a new one is added first", async () => {
    const before = harness({ cookie: { secrets: [OTHER_COOKIE_SECRET] } });
    const cookie = await signIn(before);
    const after = harness({ cookie: { secrets: [COOKIE_SECRET, OTHER_COOKIE_SECRET] } }, before.idp);
    const result = await after.send(post(refresh(), { cookie: cookieHeader(cookie) }));
    expect(result.status).toBe(200);
    expect((before.idp.calls[1] as IdpCall).form.get("refresh_token")).toBe(before.idp.issued.refresh[0]);
    // The replacement is sealed with the new first secret: a proxy holding only that one opens it.
    const only = harness({ cookie: { secrets: [COOKIE_SECRET] } }, before.idp);
    expect((await only.send(post(refresh(), { cookie: cookieHeader(onlyCookie(result)) }))).status).toBe(200);
  });

  it("a cookie issued for another client_id does not open", async () => {
    const other = harness({ clientId: "other-spa" });
    const cookie = onlyCookie(await other.send(post(codeExchange({ client_id: "other-spa" }))));
    const h = harness({}, other.idp);
    const calls = other.idp.calls.length;
    const result = await h.send(post(refresh(), { cookie: cookieHeader(cookie) }));
    expectOAuthError(result, 400, "invalid_grant");
    expect(other.idp.calls).toHaveLength(calls);
  });

  it("a new sign-in without a refresh token clears the previous session's cookie", async () => {
    const earlier = harness();
    const previous = await signIn(earlier);
    const h = harness({}, earlier.idp);
    earlier.idp.routes.set(TOKEN_ENDPOINT, () => Response.json({ access_token: "at-no-offline-access", token_type: "Bearer", expires_in: 300 }));
    const result = await h.send(post(codeExchange(), { cookie: cookieHeader(previous) }));
    expect(result.status).toBe(200);
    expect(result.json.access_token).toBe("at-no-offline-access");
    expectClearing(onlyCookie(result), HTTPS_COOKIE);
  });
});

describe("passthrough mode", () => {
  it("the refresh token reaches the browser and comes back from it; no cookie", async () => {
    const h = harness({ refreshToken: "passthrough" });
    const login = await h.send(post(codeExchange()));
    expect(login.status).toBe(200);
    const issued = h.idp.issued.refresh[0] as string;
    expect(login.json.refresh_token).toBe(issued);
    expect(login.cookies).toEqual([]);
    const result = await h.send(post(refresh({ refresh_token: issued })));
    expect(result.status).toBe(200);
    expect(result.json.refresh_token).toBe(h.idp.issued.refresh[1]);
    expect(result.cookies).toEqual([]);
    const call = h.idp.calls[1] as IdpCall;
    expect(Object.fromEntries(call.form)).toEqual({ grant_type: "refresh_token", refresh_token: issued });
    expect(decodeBasic(call).secret).toBe(CLIENT_SECRET);
  });

  it("an invalid_grant from the IdP is relayed without any Set-Cookie", async () => {
    const h = harness({ refreshToken: "passthrough" });
    const result = await h.send(post(refresh({ refresh_token: "rt-unknown" })));
    expectOAuthError(result, 400, "invalid_grant");
    expect(result.cookies).toEqual([]);
  });
});

describe("logout", () => {
  it("revokes the cookie's refresh token at the revocation endpoint, with client authentication, and clears the cookie", async () => {
    const h = harness();
    const cookie = await signIn(h);
    const refreshToken = h.idp.issued.refresh[0] as string;
    const result = await h.send(post({ action: "logout" }, { cookie: cookieHeader(cookie) }));
    expect(result.status).toBe(200);
    expect(result.headers.get("cache-control")).toBe("no-store");
    expectClearing(onlyCookie(result), HTTPS_COOKIE);
    const revocations = h.idp.callsTo(REVOCATION_ENDPOINT);
    expect(revocations).toHaveLength(1);
    const call = revocations[0] as IdpCall;
    expect(call.method).toBe("POST");
    expect(call.form.get("token")).toBe(refreshToken);
    expect(call.form.get("token_type_hint")).toBe("refresh_token");
    expect(decodeBasic(call).secret).toBe(CLIENT_SECRET);
    expect(h.idp.live.has(refreshToken)).toBe(false);
  });

  it("with client_secret_post the revocation carries the credentials in the body", async () => {
    const h = harness({ clientAuthentication: "client_secret_post" });
    const cookie = await signIn(h);
    await h.send(post({ action: "logout", client_id: CLIENT_ID }, { cookie: cookieHeader(cookie) }));
    const call = h.idp.callsTo(REVOCATION_ENDPOINT)[0] as IdpCall;
    expect(call.form.get("client_id")).toBe(CLIENT_ID);
    expect(call.form.get("client_secret")).toBe(CLIENT_SECRET);
  });

  it("without a revocation endpoint it still clears the cookie and answers 200", async () => {
    const h = harness({ revocationEndpoint: undefined });
    const cookie = await signIn(h);
    const calls = h.idp.calls.length;
    const result = await h.send(post({ action: "logout" }, { cookie: cookieHeader(cookie) }));
    expect(result.status).toBe(200);
    expectClearing(onlyCookie(result), HTTPS_COOKIE);
    expect(h.idp.calls).toHaveLength(calls);
  });

  it("when revocation keeps failing it still clears the cookie, but says so (502): a copy of the token would still work", async () => {
    const h = harness({ timeoutMs: 600 });
    const cookie = await signIn(h);
    h.idp.routes.set(REVOCATION_ENDPOINT, () => new Response("down", { status: 503 }));
    const result = await h.send(post({ action: "logout" }, { cookie: cookieHeader(cookie) }));
    expectOAuthError(result, 502, "temporarily_unavailable");
    expect(result.json.error_description).toMatch(/could not be revoked/);
    expect(result.headers.get("x-react-sso-refused")).toBeNull();
    expectClearing(onlyCookie(result), HTTPS_COOKIE);
    // Retried within the proxy's timeout.
    expect(h.idp.callsTo(REVOCATION_ENDPOINT).length).toBeGreaterThan(1);
  });

  it.each<[string, () => string]>([
    ["1 (seconds)", () => "1"],
    // An HTTP-date with second resolution, two seconds ahead: at least a second from now.
    ["an HTTP-date", () => new Date(Date.now() + 2000).toUTCString()],
  ])("a one-off 503 with Retry-After: %s is retried after a second or more, and the token ends revoked", async (_, retryAfter) => {
    const h = harness();
    const cookie = await signIn(h);
    let failures = 1;
    const revoke = h.idp.routes.get(REVOCATION_ENDPOINT);
    if (!revoke) throw new Error("no revocation route");
    h.idp.routes.set(REVOCATION_ENDPOINT, (call) => (failures-- > 0 ? new Response("busy", { status: 503, headers: { "retry-after": retryAfter() } }) : revoke(call)));
    const result = await h.send(post({ action: "logout" }, { cookie: cookieHeader(cookie) }));
    expect(result.status).toBe(200);
    const [first, second] = h.idp.callsTo(REVOCATION_ENDPOINT);
    expect(second).toBeDefined();
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(900);
    expect(h.idp.callsTo(REVOCATION_ENDPOINT)).toHaveLength(2);
  });

  it("a revocation the IdP refuses for good (400) is not retried, and is reported", async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.idp.routes.set(REVOCATION_ENDPOINT, () => Response.json({ error: "unsupported_token_type" }, { status: 400 }));
    const result = await h.send(post({ action: "logout" }, { cookie: cookieHeader(cookie) }));
    expectOAuthError(result, 502);
    expect(h.idp.callsTo(REVOCATION_ENDPOINT)).toHaveLength(1);
  });

  it("without a cookie it clears (nothing) and revokes nothing", async () => {
    const h = harness();
    const result = await h.send(post({ action: "logout" }));
    expect(result.status).toBe(200);
    expectClearing(onlyCookie(result), HTTPS_COOKIE);
    expect(h.idp.calls).toHaveLength(0);
  });

  it("in passthrough mode revokes the token the browser names, and sets no cookie", async () => {
    const h = harness({ refreshToken: "passthrough" });
    await h.send(post(codeExchange()));
    const refreshToken = h.idp.issued.refresh[0] as string;
    const result = await h.send(post({ action: "logout", token: refreshToken }));
    expect(result.status).toBe(200);
    expect(result.cookies).toEqual([]);
    expect((h.idp.callsTo(REVOCATION_ENDPOINT)[0] as IdpCall).form.get("token")).toBe(refreshToken);
  });

  it("obeys the Origin and X-React-SSO rules", async () => {
    const h = harness();
    const cookie = await signIn(h);
    const calls = h.idp.calls.length;
    expectOAuthError(await h.send(post({ action: "logout" }, { origin: "https://evil.example.com", cookie: cookieHeader(cookie) })), 403);
    expectOAuthError(await h.send(post({ action: "logout" }, { marker: null, cookie: cookieHeader(cookie) })), 403);
    expect(h.idp.calls).toHaveLength(calls);
  });
});

// ---------------------------------------------------------------------------------------------
// IdP answers: 4xx stays that 4xx (final), anything broken becomes 502/504 (transient)
// ---------------------------------------------------------------------------------------------

describe("upstream error mapping", () => {
  it("a 400 with an OAuth error body → 400 with the same error and error_description", async () => {
    const h = harness();
    h.idp.routes.set(TOKEN_ENDPOINT, () =>
      Response.json({ error: "invalid_grant", error_description: "The code has expired.", error_uri: "https://sso.example.com/errors/1", trace: "abc" }, { status: 400 }),
    );
    const result = await h.send(post(codeExchange()));
    expectOAuthError(result, 400, "invalid_grant");
    expect(result.json.error_description).toBe("The code has expired.");
    expect(result.json).not.toHaveProperty("trace");
  });

  it.each([
    ["an HTML body", "<html><body>Bad Request</body></html>", "text/html"],
    ["an empty body", "", "text/plain"],
    ["JSON without error", JSON.stringify({ message: "nope", status: 400 }), "application/json"],
    ["JSON with an empty error", JSON.stringify({ error: "" }), "application/json"],
    ["a JSON array", JSON.stringify([{ error: "invalid_grant" }]), "application/json"],
  ])("a 400 with %s → 400 with an OAuth-shaped body made by the proxy", async (_, body, type) => {
    const h = harness();
    h.idp.routes.set(TOKEN_ENDPOINT, () => new Response(body, { status: 400, headers: { "content-type": type } }));
    const result = await h.send(post(codeExchange()));
    expectOAuthError(result, 400);
    expect(result.text).not.toContain("<html>");
    expect(result.json).not.toHaveProperty("message");
  });

  it.each([403, 404, 422])("a %i without an OAuth body keeps its status", async (status) => {
    const h = harness();
    h.idp.routes.set(TOKEN_ENDPOINT, () => new Response("no", { status }));
    expectOAuthError(await h.send(post(codeExchange())), status);
  });

  it.each([
    ["with an OAuth body", JSON.stringify({ error: "invalid_client", error_description: "Client authentication failed." })],
    ["without a body", ""],
  ])("a 401 with WWW-Authenticate: Basic (%s) → 401 invalid_client, WWW-Authenticate not forwarded", async (_, body) => {
    const h = harness();
    h.idp.routes.set(
      TOKEN_ENDPOINT,
      () => new Response(body, { status: 401, headers: { "content-type": "application/json", "www-authenticate": 'Basic realm="sso.example.com"' } }),
    );
    const result = await h.send(post(codeExchange()));
    expectOAuthError(result, 401, "invalid_client");
    // Forwarded, it would make browsers pop a password prompt.
    expect(result.headers.has("www-authenticate")).toBe(false);
  });

  it.each([
    [500, null],
    [503, "30"],
    [502, "120"],
  ])("an IdP %i → 502 temporarily_unavailable (Retry-After kept: %s)", async (status, retryAfter) => {
    const h = harness();
    h.idp.routes.set(TOKEN_ENDPOINT, () => new Response("<h1>oops</h1>", { status, headers: retryAfter ? { "retry-after": retryAfter } : {} }));
    const result = await h.send(post(codeExchange()));
    expectOAuthError(result, 502, "temporarily_unavailable");
    expect(result.headers.get("retry-after")).toBe(retryAfter);
  });

  it("an IdP 500 to a refresh leaves the cookie in place", async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.idp.routes.set(TOKEN_ENDPOINT, () => new Response("down", { status: 500 }));
    const result = await h.send(post(refresh(), { cookie: cookieHeader(cookie) }));
    expectOAuthError(result, 502, "temporarily_unavailable");
    expect(result.cookies).toEqual([]);
  });

  it.each([
    ["HTML", () => new Response("<html>ok</html>", { status: 200, headers: { "content-type": "text/html" } })],
    ["JSON without access_token", () => Response.json({ token_type: "Bearer", refresh_token: "rt-orphan-1234567890" })],
    ["an access_token that is not a string", () => Response.json({ access_token: 42, token_type: "Bearer" })],
    ["an empty 204", () => new Response(null, { status: 204 })],
  ])("a 2xx with %s → 502", async (_, route) => {
    const h = harness();
    h.idp.routes.set(TOKEN_ENDPOINT, route);
    const result = await h.send(post(codeExchange()));
    expectOAuthError(result, 502);
    expect(result.cookies).toEqual([]);
    expect(result.text).not.toContain("rt-orphan");
  });

  it("a redirect from the IdP is not followed → 502", async () => {
    const h = harness();
    h.idp.routes.set(TOKEN_ENDPOINT, () => new Response(null, { status: 302, headers: { location: "https://evil.example.com/token" } }));
    expectOAuthError(await h.send(post(codeExchange())), 502);
    expect(h.idp.calls.map((c) => c.url)).toEqual([TOKEN_ENDPOINT]);
  });

  it("fetch rejecting (network failure) → 502 temporarily_unavailable", async () => {
    const h = harness();
    h.idp.routes.set(TOKEN_ENDPOINT, () => Promise.reject(new TypeError("fetch failed", { cause: new Error("ECONNREFUSED") })));
    const result = await h.send(post(codeExchange()));
    expectOAuthError(result, 502, "temporarily_unavailable");
    expect(result.text).not.toContain("ECONNREFUSED");
  });

  it("an IdP that never answers (honouring the AbortSignal) with timeoutMs: 50 → 504", async () => {
    const h = harness({ timeoutMs: 50 });
    let aborted = false;
    h.idp.routes.set(
      TOKEN_ENDPOINT,
      (call) =>
        new Promise<Response>((_, reject) => {
          const signal = call.signal;
          if (!signal) throw new Error("the proxy gave the IdP request no AbortSignal");
          signal.addEventListener("abort", () => {
            aborted = true;
            reject(signal.reason);
          });
        }),
    );
    const result = await h.send(post(codeExchange()));
    expectOAuthError(result, 504, "temporarily_unavailable");
    expect(aborted).toBe(true);
  });
});

describe("the proxy's own refusals and the IdP's errors are told apart", () => {
  it("a refusal made by the proxy carries x-react-sso-refused, exposed to a cross-origin app", async () => {
    const h = harness();
    const result = await h.send(post({ ...codeExchange(), redirect_uri: "https://evil.example.com/cb" }));
    expectOAuthError(result, 400, "invalid_request");
    expect(result.headers.get("x-react-sso-refused")).toBe("1");
    expect(result.headers.get("access-control-expose-headers")).toContain("x-react-sso-refused");
    expect(h.idp.calls).toHaveLength(0);
  });

  it("so does a refused Origin", async () => {
    const result = await harness().send(post(codeExchange(), { origin: "https://evil.example.com" }));
    expectOAuthError(result, 403);
    expect(result.headers.get("x-react-sso-refused")).toBe("1");
  });

  it.each([400, 401, 403])("an IdP %i is relayed without the mark", async (status) => {
    const h = harness();
    h.idp.routes.set(TOKEN_ENDPOINT, () => Response.json({ error: "unauthorized_client", error_description: "Not for this client." }, { status }));
    const result = await h.send(post(codeExchange()));
    expectOAuthError(result, status, "unauthorized_client");
    expect(result.json.error_description).toBe("Not for this client.");
    expect(result.headers.get("x-react-sso-refused")).toBeNull();
  });

  it("a 502 for an IdP that is down is not a refusal either (the browser retries it)", async () => {
    const h = harness();
    h.idp.routes.set(TOKEN_ENDPOINT, () => Promise.reject(new TypeError("fetch failed")));
    const result = await h.send(post(codeExchange()));
    expectOAuthError(result, 502);
    expect(result.headers.get("x-react-sso-refused")).toBeNull();
  });
});

describe("ID token verification", () => {
  let signer: Signer;
  let impostor: Signer;
  beforeAll(async () => {
    signer = await createSigner();
    impostor = await createSigner(); // same kid, another key
  });

  /** A discovery-configured proxy whose IdP returns `idToken()` with its tokens. */
  function withIdToken(idToken: () => Promise<string>): Harness {
    return discoveryHarness({}, { jwks: signer.jwks, idToken });
  }

  it("a valid ID token, checked against the discovered jwks_uri, is relayed", async () => {
    const h = withIdToken(() => signer.sign());
    const result = await h.send(post(codeExchange()));
    expect(result.status).toBe(200);
    expect(result.json.id_token).toBe(h.idp.issued.id[0]);
    expect(result.json.access_token).toBe(h.idp.issued.access[0]);
    expect(h.idp.callsTo(JWKS_URI).length).toBeGreaterThanOrEqual(1);
    expect(h.idp.calls.every((c) => [DISCOVERY_URL, TOKEN_ENDPOINT, JWKS_URI].includes(c.url))).toBe(true);
  });

  it.each<[string, () => Response | Promise<Response>, number, string]>([
    ["unreachable", () => Promise.reject(new TypeError("fetch failed")), 502, "temporarily_unavailable"],
    ["answering 503", () => new Response("down", { status: 503 }), 502, "temporarily_unavailable"],
    ["answering 404 (a wrong jwks_uri: final)", () => new Response("nope", { status: 404 }), 502, "server_error"],
  ])("a JWKS %s: %i %s, saying the keys could not be fetched, and no token reaches the browser", async (_, jwks, status, error) => {
    const h = harness({ issuer: ISSUER }, { jwks: signer.jwks, idToken: () => signer.sign() });
    h.idp.routes.set(JWKS_URI, jwks);
    const result = await h.send(post(codeExchange()));
    expectOAuthError(result, status, error);
    expect(result.json.error_description).toContain("keys (JWKS) could not be fetched");
    expect(result.text).not.toContain(h.idp.issued.access[0] as string);
  });

  it("a valid ID token is relayed with a configured issuer, tokenEndpoint and jwksUri (no discovery)", async () => {
    const h = harness({ issuer: ISSUER }, { jwks: signer.jwks, idToken: () => signer.sign() });
    const result = await h.send(post(codeExchange()));
    expect(result.status).toBe(200);
    expect(result.json.id_token).toBe(h.idp.issued.id[0]);
    expect(h.idp.callsTo(DISCOVERY_URL)).toHaveLength(0);
  });

  it("an ID token is refused when no issuer is configured to check its iss against", async () => {
    const h = harness({}, { jwks: signer.jwks, idToken: () => signer.sign() });
    const result = await h.send(post(codeExchange()));
    expect(result.status).toBe(502);
    expect(result.text).not.toContain(h.idp.issued.id[0] as string);
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each<[string, () => Promise<string>]>([
    ["a wrong iss", () => signer.sign({ iss: "https://other.example.com" })],
    ["a wrong aud", () => signer.sign({ aud: "another-client" })],
    ["an expired one", () => signer.sign({ iat: now() - 3600, exp: now() - 600 })],
    // The clock skew allowed is 5 s: 10 s past exp is expired.
    ["one expired 10 s ago", () => signer.sign({ iat: now() - 300, exp: now() - 10 })],
    ["one signed by another key", () => impostor.sign()],
    ["an unsigned alg:none token", async () => unsignedJwt({ sub: "user-1", iss: ISSUER, aud: CLIENT_ID, iat: now(), exp: now() + 300 })],
    ["a malformed token", async () => "not.a.jwt"],
  ])("%s → 502 and no token is relayed", async (_, idToken) => {
    const h = withIdToken(idToken);
    const result = await h.send(post(codeExchange()));
    expectOAuthError(result, 502);
    expect(result.json).not.toHaveProperty("access_token");
    expect(result.json).not.toHaveProperty("id_token");
    expect(result.cookies).toEqual([]);
    for (const value of [...h.idp.issued.access, ...h.idp.issued.refresh, ...h.idp.issued.id]) {
      expect(result.text).not.toContain(value);
    }
  });

  it("an ID token that expired 2 s ago by this clock is accepted: a few seconds of skew between the IdP's clock and ours are allowed", async () => {
    const h = withIdToken(() => signer.sign({ iat: now() - 300, exp: now() - 2 }));
    expect((await h.send(post(codeExchange()))).status).toBe(200);
  });

  it("an ID token whose nonce is not the login's → 502, and the previous session's cookie is left as it was", async () => {
    const h = withIdToken(() => signer.sign());
    const previous = await signIn(h);
    const login = await startLoginAt(h.proxy, REDIRECT_URI, APP_ORIGIN, cookieHeader(previous));
    // The IdP returns an ID token for another login's nonce (a code planted from elsewhere).
    rememberLoginNonce("a-nonce-of-another-login");
    const result = await h.send(post(codeExchange({ state: login.state }), { cookie: `${cookieHeader(previous)}; ${login.cookie}` }));
    expectOAuthError(result, 502);
    expect(result.json).not.toHaveProperty("access_token");
    // No new refresh-token cookie: a reload still restores the first session.
    expect(result.cookies).toEqual([]);
    expect((await h.send(post(refresh(), { cookie: cookieHeader(previous) }))).status).toBe(200);
  });

  it("an ID token for another authorized party (azp) → 502, by OIDC Core §3.1.3.7", async () => {
    const h = withIdToken(() => signer.sign({ azp: "another-client" }));
    const result = await h.send(post(codeExchange()));
    expectOAuthError(result, 502);
    expect(result.cookies).toEqual([]);
  });

  it("a bad ID token on a refresh → 502 without tokens, but the rotated refresh token is kept in the cookie", async () => {
    let bad = false;
    const h = withIdToken(() => (bad ? signer.sign({ aud: "another-client" }) : signer.sign()));
    const cookie = await signIn(h);
    bad = true;
    const result = await h.send(post(refresh(), { cookie: cookieHeader(cookie) }));
    expectOAuthError(result, 502);
    expect(result.json).not.toHaveProperty("access_token");
    // The IdP has retired the old refresh token: the next attempt must carry the new one.
    const rotated = onlyCookie(result);
    expect(rotated.value).not.toBe(cookie.value);
    bad = false;
    const retry = await h.send(post(refresh(), { cookie: cookieHeader(rotated) }));
    expect(retry.status).toBe(200);
  });

  it.each<[string, Record<string, undefined>]>([
    ["exp", { exp: undefined }],
    ["iat", { iat: undefined }],
  ])("an ID token without %s → 502", async (_, removed) => {
    const h = withIdToken(() => signer.sign(removed));
    const result = await h.send(post(codeExchange()));
    expectOAuthError(result, 502);
    expect(result.json).not.toHaveProperty("access_token");
  });
});

// ---------------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------------

describe("discovery", () => {
  it("is fetched once for several requests, sequential and concurrent", async () => {
    const h = discoveryHarness();
    const cookie = await signIn(h);
    await h.send(post(refresh(), { cookie: cookieHeader(cookie) }));
    const concurrent = await Promise.all([1, 2, 3].map((n) => h.send(post(codeExchange({ code: `code-${n}` })))));
    expect(concurrent.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(h.idp.callsTo(DISCOVERY_URL)).toHaveLength(1);
    expect(h.idp.callsTo(DISCOVERY_URL)[0]?.method).toBe("GET");
    expect(h.idp.callsTo(TOKEN_ENDPOINT)).toHaveLength(5);
  });

  it("the first requests of a fresh proxy, arriving together, share one discovery", async () => {
    const h = discoveryHarness();
    const results = await Promise.all([1, 2, 3].map((n) => h.send(post(codeExchange({ code: `code-${n}` })))));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(h.idp.callsTo(DISCOVERY_URL)).toHaveLength(1);
  });

  it("uses the discovered revocation endpoint at logout", async () => {
    const h = discoveryHarness();
    const cookie = await signIn(h);
    expect((await h.send(post({ action: "logout" }, { cookie: cookieHeader(cookie) }))).status).toBe(200);
    expect(h.idp.callsTo(REVOCATION_ENDPOINT)).toHaveLength(1);
  });

  it.each<[string, () => Response | Promise<Response>]>([
    ["a 503", () => new Response("down", { status: 503 })],
    ["a network failure", () => Promise.reject(new TypeError("fetch failed"))],
    ["a document for another issuer", () => Response.json({ issuer: "https://evil.example.com", token_endpoint: "https://evil.example.com/token" })],
    ["a document without token_endpoint", () => Response.json({ issuer: ISSUER })],
  ])("after %s (→ 502) it is retried by the next request", async (_, failure) => {
    const h = discoveryHarness();
    const working = h.idp.routes.get(DISCOVERY_URL);
    if (!working) throw new Error("no discovery route");
    h.idp.routes.set(DISCOVERY_URL, failure);
    const first = await h.send(post(codeExchange()));
    expectOAuthError(first, 502);
    expect(h.idp.callsTo(TOKEN_ENDPOINT)).toHaveLength(0);
    h.idp.routes.set(DISCOVERY_URL, working);
    const second = await h.send(post(codeExchange()));
    expect(second.status).toBe(200);
    expect(h.idp.callsTo(DISCOVERY_URL)).toHaveLength(2);
    expect(h.idp.calls.map((c) => c.url)).not.toContain("https://evil.example.com/token");
  });

  it.each<[string, () => Response | Promise<Response>, RegExp]>([
    ["unreachable", () => Promise.reject(new TypeError("fetch failed")), /could not be reached/],
    ["another issuer", () => Response.json({ issuer: "https://evil.example.com", token_endpoint: `${ISSUER}/token` }), /names the issuer "https:\/\/evil\.example\.com"/],
  ])("a failed discovery (%s) says which URL was tried", async (_, failure, reason) => {
    const h = discoveryHarness();
    h.idp.routes.set(DISCOVERY_URL, failure);
    const { json } = await h.send(post(codeExchange()));
    expect(json.error_description).toContain(DISCOVERY_URL);
    expect(json.error_description).toMatch(reason);
  });

  it("a document at neither discovery path (404, 404) names both URLs tried: OpenID Connect's, then RFC 8414's", async () => {
    const h = discoveryHarness();
    const rfc8414 = `${ISSUER}/.well-known/oauth-authorization-server`;
    for (const url of [DISCOVERY_URL, rfc8414]) h.idp.routes.set(url, () => new Response("nope", { status: 404 }));
    const response = await h.send(post(codeExchange()));
    expectOAuthError(response, 502);
    expect(h.idp.calls.map((c) => c.url)).toEqual([DISCOVERY_URL, rfc8414]);
    expect(response.json.error_description).toContain(`HTTP 404 at ${DISCOVERY_URL}, HTTP 404 at ${rfc8414}`);
  });

  it("an OAuth 2.0 server with only RFC 8414 metadata is discovered there", async () => {
    const h = discoveryHarness();
    const rfc8414 = `${ISSUER}/.well-known/oauth-authorization-server`;
    const oidc = h.idp.routes.get(DISCOVERY_URL);
    if (!oidc) throw new Error("no discovery route");
    h.idp.routes.set(rfc8414, oidc);
    h.idp.routes.set(DISCOVERY_URL, () => new Response("nope", { status: 404 }));
    expect((await h.send(post(codeExchange()))).status).toBe(200);
    expect(h.idp.calls.map((c) => c.url)).toEqual([DISCOVERY_URL, rfc8414, TOKEN_ENDPOINT]);
  });

  it.each<[string, () => Response | Promise<Response>, string]>([
    ["a 503: transient", () => new Response("down", { status: 503 }), "temporarily_unavailable"],
    ["a network failure: transient", () => Promise.reject(new TypeError("fetch failed")), "temporarily_unavailable"],
    ["a document for another issuer: final", () => Response.json({ issuer: "https://evil.example.com", token_endpoint: TOKEN_ENDPOINT }), "server_error"],
  ])("a failed discovery, %s, is a 502 %s", async (_, failure, error) => {
    const h = discoveryHarness();
    h.idp.routes.set(DISCOVERY_URL, failure);
    expectOAuthError(await h.send(post(codeExchange())), 502, error);
  });

  it("a discovery that never answers (honouring the AbortSignal) with timeoutMs: 50 → 504 temporarily_unavailable", async () => {
    const h = discoveryHarness({ timeoutMs: 50 });
    h.idp.routes.set(DISCOVERY_URL, (call) => new Promise<Response>((_, reject) => call.signal?.addEventListener("abort", () => reject(call.signal?.reason))));
    const result = await h.send(post(codeExchange()));
    expectOAuthError(result, 504, "temporarily_unavailable");
    expect(result.json.error_description).toContain(DISCOVERY_URL);
  });

  it("an issuer that differs only by a trailing slash is refused, showing both values", async () => {
    const h = discoveryHarness();
    h.idp.routes.set(DISCOVERY_URL, () => Response.json({ issuer: `${ISSUER}/`, token_endpoint: TOKEN_ENDPOINT }));
    const response = await h.send(post(codeExchange()));
    expectOAuthError(response, 502);
    expect(response.json.error_description).toContain(`"${ISSUER}/"`);
    expect(response.json.error_description).toContain(`"issuer" is "${ISSUER}"`);
    expect(h.idp.callsTo(TOKEN_ENDPOINT)).toHaveLength(0);
  });

  it("a configured tokenEndpoint overrides the discovered one", async () => {
    const custom = `${ISSUER}/custom/token`;
    const h = discoveryHarness({ tokenEndpoint: custom });
    const token = h.idp.routes.get(TOKEN_ENDPOINT);
    if (!token) throw new Error("no token route");
    h.idp.routes.set(custom, token);
    expect((await h.send(post(codeExchange()))).status).toBe(200);
    expect(h.idp.calls.map((c) => c.url)).toEqual([DISCOVERY_URL, custom]);
  });

  describe("requests refused locally do not depend on discovery", () => {
    function downHarness(): Harness {
      const h = discoveryHarness();
      h.idp.routes.set(DISCOVERY_URL, () => new Response("down", { status: 503 }));
      return h;
    }

    it("a code exchange with a redirect_uri outside the allowlist → 400, no IdP request", async () => {
      const h = downHarness();
      const result = await h.send(post(codeExchange({ redirect_uri: "https://evil.example.com/callback" })));
      expect(h.idp.calls).toHaveLength(0);
      expectOAuthError(result, 400, "invalid_request");
    });

    it("a refresh without a cookie → 400 invalid_grant, no IdP request", async () => {
      const h = downHarness();
      const result = await h.send(post(refresh()));
      expect(h.idp.calls).toHaveLength(0);
      expectOAuthError(result, 400, "invalid_grant");
    });

    it("logout clears the cookie even while the IdP is down", async () => {
      const up = discoveryHarness();
      const cookie = await signIn(up);
      const h = downHarness();
      const result = await h.send(post({ action: "logout" }, { cookie: cookieHeader(cookie) }));
      expect(result.status).toBe(200);
      expectClearing(onlyCookie(result), HTTPS_COOKIE);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

describe("configuration", () => {
  const base = (): TokenProxyOptions => ({
    tokenEndpoint: TOKEN_ENDPOINT,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    allowedOrigins: [APP_ORIGIN],
    redirectUris: [REDIRECT_URI],
    cookie: { secrets: [COOKIE_SECRET] },
    fetch: createStubIdp().fetch,
  });
  /** The base options with fields replaced, or removed with `undefined`; unchecked on purpose. */
  const withFields = (fields: Record<string, unknown>): TokenProxyOptions => {
    const options: Record<string, unknown> = { ...base(), ...fields };
    for (const [key, value] of Object.entries(fields)) if (value === undefined) delete options[key];
    return options as unknown as TokenProxyOptions;
  };
  function expectConfigError(fields: Record<string, unknown>, field: string): void {
    let thrown: unknown;
    try {
      createTokenProxy(withFields(fields));
    } catch (err) {
      thrown = err;
    }
    expect(thrown, `expected a TypeError for ${JSON.stringify(fields)}`).toBeInstanceOf(TypeError);
    expect((thrown as TypeError).message).toContain(`"${field}"`);
    expect((thrown as TypeError).message).not.toContain(CLIENT_SECRET);
    expect((thrown as TypeError).message).not.toContain(COOKIE_SECRET);
  }

  it("the base options are valid", () => {
    expect(typeof createTokenProxy(base())).toBe("function");
    expect(typeof createTokenProxy(withFields({ tokenEndpoint: undefined, issuer: ISSUER }))).toBe("function");
    expect(typeof createTokenProxy(withFields({ allowedOrigins: ["http://localhost:5173", "http://127.0.0.1:3000", "http://[::1]:8080"] }))).toBe("function");
    expect(typeof createTokenProxy(withFields({ refreshToken: "passthrough" }))).toBe("function");
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["no issuer nor tokenEndpoint", { tokenEndpoint: undefined }, "issuer"],
    ["an issuer that is not a URL", { tokenEndpoint: undefined, issuer: "sso.example.com" }, "issuer"],
    ["an http issuer off loopback", { tokenEndpoint: undefined, issuer: "http://sso.example.com" }, "issuer"],
    ["an issuer that is the discovery URL", { tokenEndpoint: undefined, issuer: "https://sso.example.com/.well-known/openid-configuration" }, "issuer"],
    ["an http tokenEndpoint off loopback", { tokenEndpoint: "http://sso.example.com/token" }, "tokenEndpoint"],
    ["an http revocationEndpoint off loopback", { revocationEndpoint: "http://sso.example.com/revoke" }, "revocationEndpoint"],
    ["an http jwksUri off loopback", { jwksUri: "http://sso.example.com/jwks" }, "jwksUri"],
    ["an http look-alike of localhost", { tokenEndpoint: "http://localhost.evil.example.com/token" }, "tokenEndpoint"],
    ["an ftp tokenEndpoint", { tokenEndpoint: "ftp://sso.example.com/token" }, "tokenEndpoint"],
    ["no clientId", { clientId: undefined }, "clientId"],
    ["an empty clientId", { clientId: "" }, "clientId"],
    ["an empty clientSecret", { clientSecret: "" }, "clientSecret"],
    ["a bad clientAuthentication", { clientAuthentication: "private_key_jwt" }, "clientAuthentication"],
    ["no allowedOrigins", { allowedOrigins: undefined }, "allowedOrigins"],
    ["empty allowedOrigins", { allowedOrigins: [] }, "allowedOrigins"],
    ["allowedOrigins with a path", { allowedOrigins: [`${APP_ORIGIN}/app`] }, "allowedOrigins"],
    ["allowedOrigins with a trailing slash", { allowedOrigins: [`${APP_ORIGIN}/`] }, "allowedOrigins"],
    ["allowedOrigins *", { allowedOrigins: ["*"] }, "allowedOrigins"],
    ["allowedOrigins null", { allowedOrigins: ["null"] }, "allowedOrigins"],
    ["an http allowed origin off loopback", { allowedOrigins: ["http://app.example.com"] }, "allowedOrigins"],
    ["no redirectUris", { redirectUris: undefined }, "redirectUris"],
    ["empty redirectUris", { redirectUris: [] }, "redirectUris"],
    ["a bad refreshToken mode", { refreshToken: "session" }, "refreshToken"],
    ["cookie mode without cookie options", { cookie: undefined }, "cookie.secrets"],
    // The login transactions are sealed in every mode.
    ["passthrough mode without cookie options", { refreshToken: "passthrough", cookie: undefined }, "cookie.secrets"],
    ["cookie mode with no secrets", { cookie: { secrets: [] } }, "cookie.secrets"],
    ["a cookie secret of 31 characters", { cookie: { secrets: ["x".repeat(31)] } }, "cookie.secrets"],
    ["one short secret among good ones", { cookie: { secrets: [COOKIE_SECRET, "short"] } }, "cookie.secrets"],
    ["a non-positive cookie.maxAge", { cookie: { secrets: [COOKIE_SECRET], maxAge: 0 } }, "cookie.maxAge"],
    ["timeoutMs 0", { timeoutMs: 0 }, "timeoutMs"],
    ["a negative timeoutMs", { timeoutMs: -1 }, "timeoutMs"],
    ["a NaN timeoutMs", { timeoutMs: Number.NaN }, "timeoutMs"],
    ["a string timeoutMs", { timeoutMs: "1000" }, "timeoutMs"],
    ["maxBodyBytes 0", { maxBodyBytes: 0 }, "maxBodyBytes"],
    ["a negative maxBodyBytes", { maxBodyBytes: -8192 }, "maxBodyBytes"],
  ])("%s → TypeError naming %s", (_, fields, field) => {
    expectConfigError(fields, field);
  });

  it.each<[Record<string, unknown>, string, string]>([
    [{ clientID: "x" }, "clientID", "clientId"],
    [{ redirectUri: ["https://app.example.com/cb"] }, "redirectUri", "redirectUris"],
    [{ allowed_origins: ["https://app.example.com"] }, "allowed_origins", "allowedOrigins"],
    [{ timeout: 100 }, "timeout", "timeoutMs"],
    [{ cookie: { secrets: [COOKIE_SECRET], maxage: 60 } }, "cookie.maxage", "cookie.maxAge"],
  ])("an unknown option %j is refused with its likely fix", (fields, field, fix) => {
    expectConfigError(fields, field);
    expect(() => createTokenProxy(withFields(fields))).toThrow(`did you mean "${fix}"?`);
  });

  it("an unknown option far from any gets no hint", () => {
    expectConfigError({ upstream: "https://sso.example.com" }, "upstream");
    expect(() => createTokenProxy(withFields({ upstream: "x" }))).not.toThrow(/did you mean/);
  });

  it("a 32-character cookie secret is enough", () => {
    expect(typeof createTokenProxy(withFields({ cookie: { secrets: ["x".repeat(32)] } }))).toBe("function");
  });

  it.each([1.5, Number.POSITIVE_INFINITY, 2 ** 32])("timeoutMs %d → TypeError naming timeoutMs", (timeoutMs) => {
    expectConfigError({ timeoutMs }, "timeoutMs");
  });

  it("cookie.maxAge Infinity → TypeError naming cookie.maxAge", () => {
    expectConfigError({ cookie: { secrets: [COOKIE_SECRET], maxAge: Number.POSITIVE_INFINITY } }, "cookie.maxAge");
  });
});

// ---------------------------------------------------------------------------------------------
// Secrets never leak (runs last: it checks every response this file received)
// ---------------------------------------------------------------------------------------------

describe("secrets never leak", () => {
  it("no response body or header holds the client secret, a cookie secret, or a token that does not belong there", () => {
    expect(collected.length).toBeGreaterThan(100);
    const basic = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString("base64");
    const never = [CLIENT_SECRET, encodeURIComponent(CLIENT_SECRET), basic, ...cookieSecretsUsed];
    const tokens = idps.flatMap((idp) => [...idp.issued.access, ...idp.issued.refresh, ...idp.issued.id]);
    expect(tokens.length).toBeGreaterThan(50);
    const leaks: string[] = [];
    for (const response of collected) {
      for (const secret of never) {
        if (response.text.includes(secret)) leaks.push(`${response.label} ${response.status}: a secret in the body`);
        for (const [name, value] of response.headers) if (value.includes(secret)) leaks.push(`${response.label} ${response.status}: a secret in ${name}`);
      }
      for (const value of tokens) {
        if (response.text.includes(value) && !response.allowedInBody.includes(value)) {
          leaks.push(`${response.label} ${response.status}: ${value.slice(0, 6)}… in the body`);
        }
        for (const [name, header] of response.headers) if (header.includes(value)) leaks.push(`${response.label} ${response.status}: ${value.slice(0, 6)}… in ${name}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it("the proxy never writes to the console, and never uses the global fetch", () => {
    expect(consoleSpies).toHaveLength(6);
    for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
    expect(globalFetch).not.toHaveBeenCalled();
  });
});
