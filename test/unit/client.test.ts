import * as oauth from "oauth4webapi";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AuthError } from "../../src/shared/AuthError.js";
import type { AuthConfig } from "../../src/core/config.js";
import { createAuthClient } from "../../src/core/createAuthClient.js";

const AUTHORITY = "https://sso.example.com";
const REDIRECT_URI = "http://localhost:3000/callback";
const DISCOVERY_URL = `${AUTHORITY}/.well-known/openid-configuration`;
const TOKEN_URL = `${AUTHORITY}/token`;
const PROXY_URL = "http://localhost:3000/auth/token";

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const b64u = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** An ID token with the claims the browser checks; the signature is not verified in the browser. */
function idToken(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  return `${b64u({ alg: "RS256", typ: "JWT" })}.${b64u({ iss: AUTHORITY, aud: "spa", sub: "u1", iat: now, exp: now + 300, ...claims })}.c2lnbmF0dXJl`;
}

interface Call {
  url: string;
  init: RequestInit;
}

/**
 * A pretend IdP behind an injected fetch: discovery and a token endpoint (also reachable as the
 * proxy). `discovery` and `token` can be replaced per test; every request is recorded.
 */
function stubIdp() {
  const calls: Call[] = [];
  const idp = {
    calls,
    discovery: (): Response =>
      json({
        issuer: AUTHORITY,
        authorization_endpoint: `${AUTHORITY}/authorize?tenant=t1`,
        token_endpoint: TOKEN_URL,
        code_challenge_methods_supported: ["S256"],
      }),
    token: (_body: URLSearchParams): Response => json({ access_token: "at-1", token_type: "Bearer", expires_in: 300 }),
    fetch: vi.fn(async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
      const url = String(input instanceof Request ? input.url : input);
      calls.push({ url, init });
      if (url === DISCOVERY_URL) return idp.discovery();
      const body = new URLSearchParams(init.body as URLSearchParams);
      // The token proxy's login step: it makes the transaction and keeps the verifier.
      if (url === PROXY_URL && body.get("action") === "login") return json({ state: `proxy-state-${calls.length}`, nonce: `proxy-nonce-${calls.length}`, code_challenge: "proxy-challenge", code_challenge_method: "S256" });
      if (url === TOKEN_URL || url === PROXY_URL) return idp.token(body);
      return new Response("not found", { status: 404 });
    }),
    callsTo: (url: string) => calls.filter((call) => call.url === url),
  };
  return idp;
}

function setup(overrides: Partial<AuthConfig> = {}) {
  const idp = stubIdp();
  const opened: string[] = [];
  const client = createAuthClient({
    authority: AUTHORITY,
    clientId: "spa",
    redirectUri: REDIRECT_URI,
    scope: "openid profile",
    storage: "memory",
    fetch: idp.fetch as unknown as typeof fetch,
    openUrl: (url) => void opened.push(url),
    ...overrides,
  });
  return { client, idp, opened };
}

interface StoredTransaction {
  verifier?: string;
  nonce?: string;
  returnTo: string;
}

function transaction(state: string): StoredTransaction {
  const raw = sessionStorage.getItem(`react-sso.tx.${state}`);
  if (raw === null) throw new Error(`no transaction stored for state ${state}`);
  return JSON.parse(raw) as StoredTransaction;
}

async function sha256base64url(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Buffer.from(digest).toString("base64url");
}

/** The one URL the client opened, as parameters. */
function openedParams(opened: string[]): URLSearchParams {
  expect(opened).toHaveLength(1);
  return new URL(opened[0] as string).searchParams;
}

async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(AuthError);
  return error as AuthError;
}

const header = (init: RequestInit, name: string) => new Headers(init.headers).get(name);

beforeEach(() => {
  sessionStorage.clear();
  localStorage.clear();
  window.history.replaceState(null, "", "/");
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("login builds the authorization request", () => {
  it("with response_type=code, PKCE S256, state, nonce and the client's parameters", async () => {
    const { client, opened } = setup();
    await client.login({ returnTo: "/account" });
    const url = new URL(opened[0] as string);
    expect(url.origin + url.pathname).toBe(`${AUTHORITY}/authorize`);
    const params = openedParams(opened);
    expect(params.get("tenant")).toBe("t1");
    expect(params.get("response_type")).toBe("code");
    expect(params.get("client_id")).toBe("spa");
    expect(params.get("redirect_uri")).toBe(REDIRECT_URI);
    expect(params.get("scope")).toBe("openid profile");
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get("state")).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(params.get("nonce")).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(params.has("response_mode")).toBe(false);
  });

  it("sends no nonce when openid is not in the scope", async () => {
    const { client, opened } = setup({ scope: "api:read offline_access" });
    await client.login();
    const params = openedParams(opened);
    expect(params.get("scope")).toBe("api:read offline_access");
    expect(params.has("nonce")).toBe(false);
    expect(transaction(params.get("state") as string).nonce).toBeUndefined();
  });

  it("asks for response_mode=fragment when configured", async () => {
    const { client, opened } = setup({ responseMode: "fragment" });
    await client.login();
    expect(openedParams(opened).get("response_mode")).toBe("fragment");
  });

  it("uses fresh state, nonce and verifier for every login", async () => {
    const { client, opened } = setup();
    await client.login();
    await client.login();
    expect(opened).toHaveLength(2);
    const [a, b] = opened.map((u) => new URL(u).searchParams);
    for (const name of ["state", "nonce", "code_challenge"]) expect(a?.get(name)).not.toBe(b?.get(name));
  });

  it("adds extraAuthorizeParams and per-login extraParams, the latter winning", async () => {
    const { client, opened } = setup({ extraAuthorizeParams: { audience: "api", prompt: "consent" } });
    await client.login({ extraParams: { prompt: "login", login_hint: "ada@example.com" } });
    const params = openedParams(opened);
    expect(params.get("audience")).toBe("api");
    expect(params.get("prompt")).toBe("login");
    expect(params.get("login_hint")).toBe("ada@example.com");
  });

  it.each(["state", "nonce", "code_challenge", "code_challenge_method", "redirect_uri", "client_id", "scope", "response_type"])(
    "refuses a reserved per-login extraParams %s with code config, before any request",
    async (name) => {
      const { client, idp, opened } = setup();
      const error = await rejection(client.login({ extraParams: { [name]: "x" } }));
      expect(error.code).toBe("config");
      expect(error.message).toContain(name);
      expect(opened).toHaveLength(0);
      expect(idp.calls).toHaveLength(0);
    },
  );

  it("keeps the returnTo, the verifier and the nonce in sessionStorage under the state", async () => {
    const { client, opened } = setup();
    await client.login({ returnTo: "/orders?page=2#top" });
    const params = openedParams(opened);
    const tx = transaction(params.get("state") as string);
    expect(tx.returnTo).toBe("/orders?page=2#top");
    expect(tx.nonce).toBe(params.get("nonce"));
    expect(tx.verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
  });

  it("replaces an unsafe returnTo by /", async () => {
    const { client, opened } = setup();
    await client.login({ returnTo: "//evil.example/phish" });
    expect(transaction(openedParams(opened).get("state") as string).returnTo).toBe("/");
  });

  it("defaults returnTo to the current page", async () => {
    window.history.replaceState(null, "", "/reports?year=2030#q1");
    const { client, opened } = setup();
    await client.login();
    expect(transaction(openedParams(opened).get("state") as string).returnTo).toBe("/reports?year=2030#q1");
  });
});

describe("PKCE", () => {
  it("the code_challenge is the SHA-256 of the verifier stored for that state", async () => {
    const { client, opened } = setup();
    await client.login();
    const params = openedParams(opened);
    const { verifier } = transaction(params.get("state") as string);
    expect(verifier).toMatch(/^[\w-]{43}$/);
    expect(params.get("code_challenge")).toBe(await sha256base64url(verifier as string));
  });

  it("RFC 7636 Appendix B: oauth4webapi computes S256 as the RFC does", async () => {
    // The known answer as printed in RFC 7636 Appendix B.
    const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    expect(await oauth.calculatePKCECodeChallenge(verifier)).toBe(challenge);
    expect(await sha256base64url(verifier)).toBe(challenge);
  });
});

describe("discovery", () => {
  it('fails closed with code config when the IdP offers only "plain" PKCE', async () => {
    const { client, idp, opened } = setup();
    idp.discovery = () => json({ issuer: AUTHORITY, authorization_endpoint: `${AUTHORITY}/authorize`, token_endpoint: TOKEN_URL, code_challenge_methods_supported: ["plain"] });
    const error = await rejection(client.login());
    expect(error.code).toBe("config");
    expect(error.message).toMatch(/S256/);
    expect(opened).toHaveLength(0);
  });

  it("accepts a document that does not list PKCE methods (RFC 8414 lets it omit them)", async () => {
    const { client, idp, opened } = setup();
    idp.discovery = () => json({ issuer: AUTHORITY, authorization_endpoint: `${AUTHORITY}/authorize`, token_endpoint: TOKEN_URL });
    await client.login();
    expect(openedParams(opened).get("code_challenge_method")).toBe("S256");
  });

  it("fails with code config when the document names another issuer", async () => {
    const { client, idp, opened } = setup();
    idp.discovery = () => json({ issuer: "https://other.example.com", authorization_endpoint: `${AUTHORITY}/authorize`, token_endpoint: TOKEN_URL });
    const error = await rejection(client.login());
    expect(error.code).toBe("config");
    expect(error.message).toContain("authority");
    expect(opened).toHaveLength(0);
  });

  it("shows both issuers when they differ, compared as exact strings (a trailing slash counts)", async () => {
    const { client, idp } = setup();
    idp.discovery = () => json({ issuer: `${AUTHORITY}/`, authorization_endpoint: `${AUTHORITY}/authorize`, token_endpoint: TOKEN_URL });
    const error = await rejection(client.login());
    expect(error.code).toBe("config");
    expect(error.message).toContain(`"${AUTHORITY}/"`);
    expect(error.message).toContain(`"authority" is "${AUTHORITY}"`);
  });

  it.each<[string, unknown]>([
    ["authorization_endpoint", "http://sso.example.com/plain"],
    ["token_endpoint", "http://sso.example.com/plain"],
    ["end_session_endpoint", "http://sso.example.com/plain"],
    ["revocation_endpoint", "http://sso.example.com/plain"],
    // Not a string: fetch would turn it into one (an array's toString is its items).
    ["token_endpoint", ["http://sso.example.com/plain"]],
    ["revocation_endpoint", { href: "https://sso.example.com/revoke" }],
  ])(
    "refuses an https issuer whose document lists %s as %j, before any login or token request",
    async (key, value) => {
      const { client, idp, opened } = setup();
      const working = idp.discovery;
      idp.discovery = () => json({ issuer: AUTHORITY, authorization_endpoint: `${AUTHORITY}/authorize`, token_endpoint: TOKEN_URL, [key]: value });
      const error = await rejection(client.login());
      expect(error.code).toBe("config");
      expect(error.message).toContain(key);
      expect(error.message).toContain("not an https URL");
      expect(opened).toHaveLength(0);
      idp.discovery = working;
    },
  );

  it("names the URL it tried when discovery cannot be reached", async () => {
    const { client, idp } = setup();
    idp.discovery = () => {
      throw new TypeError("Failed to fetch");
    };
    const error = await rejection(client.login());
    expect(error.code).toBe("network");
    expect(error.message).toContain(DISCOVERY_URL);
    expect(error.message).toContain("could not be reached");
  });

  it("fails with code config, naming authority, when the document is not found", async () => {
    const { client, idp } = setup();
    idp.discovery = () => new Response("not found", { status: 404 });
    const error = await rejection(client.login());
    expect(error.code).toBe("config");
    expect(error.message).toContain('"authority"');
  });

  it("reads the document from <authority>/.well-known/openid-configuration without credentials or proxy header", async () => {
    const { client, idp } = setup({ tokenProxy: "/auth/token" });
    await client.login();
    const [call] = idp.callsTo(DISCOVERY_URL);
    expect(call?.init.credentials).toBe("omit");
    expect(header(call?.init ?? {}, "x-react-sso")).toBeNull();
  });

  it("is requested once and reused by later logins", async () => {
    const { client, idp, opened } = setup();
    await client.login();
    await client.login();
    expect(opened).toHaveLength(2);
    expect(idp.callsTo(DISCOVERY_URL)).toHaveLength(1);
  });

  it("is kept across the redirect: the callback page, a new client in the same tab, sends only the code exchange", async () => {
    const { client, idp, opened } = setup({ scope: "api" });
    const { callbackUrl } = await loginAndCallback(client, opened);
    client.dispose();
    // The callback page: another page load, another client, the same tab's sessionStorage.
    const callbackPage = setup({ scope: "api", fetch: idp.fetch as unknown as typeof fetch }).client;
    await callbackPage.handleCallback(callbackUrl);
    expect(idp.callsTo(DISCOVERY_URL)).toHaveLength(1);
    expect(idp.callsTo(TOKEN_URL)).toHaveLength(1);
    callbackPage.dispose();
  });

  it.each<[string, string | undefined, number]>([
    ["for 15 minutes", undefined, 15 * 60],
    ["for the document's max-age when shorter", "public, max-age=60", 60],
    ["not at all with no-store", "no-store", 0],
  ])("is kept %s", async (_, cacheControl, seconds) => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const { client, idp } = setup();
      const working = idp.discovery;
      idp.discovery = () => {
        const response = working();
        if (cacheControl) response.headers.set("cache-control", cacheControl);
        return response;
      };
      await client.login();
      const fresh = () => setup({ fetch: idp.fetch as unknown as typeof fetch }).client;
      if (seconds > 0) {
        vi.setSystemTime(Date.now() + (seconds - 1) * 1000);
        await fresh().login();
        expect(idp.callsTo(DISCOVERY_URL)).toHaveLength(1);
      }
      vi.setSystemTime(Date.now() + 2000);
      await fresh().login();
      expect(idp.callsTo(DISCOVERY_URL)).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a kept document that no longer passes the checks (edited in storage) is fetched again", async () => {
    const { client, idp } = setup();
    await client.login();
    const key = `react-sso.discovery:${AUTHORITY}`;
    const kept = JSON.parse(sessionStorage.getItem(key) as string) as { doc: Record<string, unknown> };
    kept.doc.issuer = "https://evil.example.com";
    sessionStorage.setItem(key, JSON.stringify(kept));
    const { client: next, opened } = setup({ fetch: idp.fetch as unknown as typeof fetch });
    await next.login();
    expect(idp.callsTo(DISCOVERY_URL)).toHaveLength(2);
    expect(new URL(opened[0] as string).origin).toBe(AUTHORITY);
  });

  it("is not cached when it failed: the next login requests it again", async () => {
    const { client, idp, opened } = setup();
    const working = idp.discovery;
    idp.discovery = () => new Response("<h1>down</h1>", { status: 503, headers: { "content-type": "text/html" } });
    const error = await rejection(client.login());
    expect(error.status).toBe(503);
    expect(error.transient).toBe(true);
    expect(opened).toHaveLength(0);

    idp.discovery = working;
    await client.login();
    expect(idp.callsTo(DISCOVERY_URL)).toHaveLength(2);
    expect(opened).toHaveLength(1);
  });

  it("is not cached after a network failure either", async () => {
    const { client, idp, opened } = setup();
    const working = idp.discovery;
    idp.discovery = () => {
      throw new TypeError("Failed to fetch");
    };
    const error = await rejection(client.login());
    expect(error.code).toBe("network");
    expect(error.transient).toBe(true);

    idp.discovery = working;
    await client.login();
    expect(idp.callsTo(DISCOVERY_URL)).toHaveLength(2);
    expect(opened).toHaveLength(1);
  });

  it("is skipped when endpoints are configured", async () => {
    const { client, idp, opened } = setup({ endpoints: { authorization: `${AUTHORITY}/oauth/authorize`, token: TOKEN_URL } });
    await client.login();
    expect(idp.calls).toHaveLength(0);
    expect(new URL(opened[0] as string).pathname).toBe("/oauth/authorize");
  });
});

describe("concurrent logins", () => {
  it("open exactly one URL", async () => {
    const { client, idp, opened } = setup();
    await Promise.all([client.login(), client.login(), client.login({ returnTo: "/other" })]);
    expect(opened).toHaveLength(1);
    expect(idp.callsTo(DISCOVERY_URL)).toHaveLength(1);
  });
});

/** Runs a login and returns the callback URL the IdP would send back, with the transaction. */
async function loginAndCallback(client: ReturnType<typeof setup>["client"], opened: string[], returnTo = "/account") {
  await client.login({ returnTo });
  const params = new URL(opened.at(-1) as string).searchParams;
  const state = params.get("state") as string;
  const tx = transaction(state);
  return { callbackUrl: `${REDIRECT_URI}?code=the-code&state=${state}`, tx, nonce: params.get("nonce") };
}

describe("the code exchange", () => {
  it("through a tokenProxy: X-React-SSO: 1, credentials include, and the state of the login the proxy holds (no verifier)", async () => {
    const { client, idp, opened } = setup({ tokenProxy: "/auth/token", scope: "api" });
    const { callbackUrl, tx } = await loginAndCallback(client, opened);
    // The proxy made the transaction: the browser holds no verifier, and sends the proxy's state and challenge.
    expect(tx.verifier).toBeUndefined();
    const authorization = new URL(opened[0] as string).searchParams;
    expect(authorization.get("state")).toMatch(/^proxy-state-/);
    expect(authorization.get("code_challenge")).toBe("proxy-challenge");
    expect(authorization.get("code_challenge_method")).toBe("S256");
    await expect(client.handleCallback(callbackUrl)).resolves.toBe("/account");

    const calls = idp.callsTo(PROXY_URL);
    // The login step, then the exchange.
    expect(calls).toHaveLength(2);
    expect(Object.fromEntries(new URLSearchParams(calls[0]?.init.body as string))).toEqual({ action: "login", client_id: "spa", redirect_uri: REDIRECT_URI });
    expect(idp.callsTo(TOKEN_URL)).toHaveLength(0);
    const { init } = calls[1] as Call;
    expect(init.method).toBe("POST");
    expect(init.credentials).toBe("include");
    expect(header(init, "x-react-sso")).toBe("1");
    const body = new URLSearchParams(init.body as URLSearchParams);
    expect(Object.fromEntries(body)).toEqual({
      grant_type: "authorization_code",
      code: "the-code",
      state: authorization.get("state"),
      redirect_uri: REDIRECT_URI,
      client_id: "spa",
    });
    await expect(client.getAccessToken()).resolves.toBe("at-1");
    expect(client.getSnapshot().status).toBe("authenticated");
  });

  it("to the IdP's token endpoint: a form POST (RFC 6749 §4.1.3) with the verifier, credentials omit, no X-React-SSO header, no redirect followed", async () => {
    const { client, idp, opened } = setup({ scope: "api" });
    const { callbackUrl, tx } = await loginAndCallback(client, opened);
    await client.handleCallback(callbackUrl);

    const calls = idp.callsTo(TOKEN_URL);
    expect(calls).toHaveLength(1);
    const { init } = calls[0] as Call;
    expect(init.method).toBe("POST");
    expect(init.credentials).toBe("omit");
    expect(init.redirect).toBe("manual");
    expect(header(init, "content-type")).toBe("application/x-www-form-urlencoded");
    expect(header(init, "accept")).toBe("application/json");
    expect(header(init, "x-react-sso")).toBeNull();
    expect(Object.fromEntries(new URLSearchParams(init.body as string))).toEqual({
      grant_type: "authorization_code",
      code: "the-code",
      code_verifier: tx.verifier,
      redirect_uri: REDIRECT_URI,
      client_id: "spa",
    });
  });

  it("with openid: validates the ID token's claims and exposes the user without volatile claims", async () => {
    const { client, idp, opened } = setup();
    const { callbackUrl, nonce } = await loginAndCallback(client, opened);
    idp.token = () => json({ access_token: "at-1", token_type: "Bearer", expires_in: 300, id_token: idToken({ nonce, name: "Ada" }) });
    await client.handleCallback(callbackUrl);

    const { status, user } = client.getSnapshot();
    expect(status).toBe("authenticated");
    expect(user?.sub).toBe("u1");
    expect(user?.claims).toMatchObject({ name: "Ada", iss: AUTHORITY, aud: "spa" });
    for (const volatile of ["nonce", "exp", "iat"]) expect(user?.claims).not.toHaveProperty(volatile);
    expect(user?.scopes).toEqual(["openid", "profile"]);
    expect(JSON.stringify(client.getSnapshot())).not.toContain("at-1");
  });

  it("with openid: refuses an ID token with another nonce", async () => {
    const { client, idp, opened } = setup();
    const { callbackUrl } = await loginAndCallback(client, opened);
    idp.token = () => json({ access_token: "at-1", token_type: "Bearer", id_token: idToken({ nonce: "not-the-nonce" }) });
    const error = await rejection(client.handleCallback(callbackUrl));
    expect(error.code).toBe("invalid_id_token");
    expect(client.getSnapshot().status).toBe("error");
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: "login_required" });
  });

  it("with openid: refuses an ID token issued to another authorized party (azp), by OIDC Core §3.1.3.7", async () => {
    const { client, idp, opened } = setup();
    const { callbackUrl, nonce } = await loginAndCallback(client, opened);
    idp.token = () => json({ access_token: "at-1", token_type: "Bearer", id_token: idToken({ nonce, azp: "another-client" }) });
    const error = await rejection(client.handleCallback(callbackUrl));
    expect(error.code).toBe("invalid_id_token");
    expect(error.message).toContain("another client");
    expect(client.getSnapshot().user).toBeNull();
  });

  it("with openid: an azp naming this client is fine", async () => {
    const { client, idp, opened } = setup();
    const { callbackUrl, nonce } = await loginAndCallback(client, opened);
    idp.token = () => json({ access_token: "at-1", token_type: "Bearer", id_token: idToken({ nonce, azp: "spa" }) });
    await client.handleCallback(callbackUrl);
    expect(client.getSnapshot().status).toBe("authenticated");
  });

  it("with openid: refuses a token response without an ID token", async () => {
    const { client, opened } = setup();
    const { callbackUrl } = await loginAndCallback(client, opened);
    const error = await rejection(client.handleCallback(callbackUrl));
    expect(error.code).toBe("invalid_response");
    expect(client.getSnapshot().user).toBeNull();
  });

  it("runs once per state: calling handleCallback again returns the same promise", async () => {
    const { client, idp, opened } = setup({ scope: "api" });
    const { callbackUrl } = await loginAndCallback(client, opened);
    const first = client.handleCallback(callbackUrl);
    expect(client.handleCallback(callbackUrl)).toBe(first);
    await first;
    expect(idp.callsTo(TOKEN_URL)).toHaveLength(1);
  });

  it("refuses a replayed callback in a new page with callback_replayed, without a token request", async () => {
    const first = setup({ scope: "api" });
    const { callbackUrl } = await loginAndCallback(first.client, first.opened);
    await first.client.handleCallback(callbackUrl);

    const reloaded = setup({ scope: "api" });
    const error = await rejection(reloaded.client.handleCallback(callbackUrl));
    expect(error.code).toBe("callback_replayed");
    expect(reloaded.idp.calls).toHaveLength(0);
  });

  it("refuses an unknown state with state_mismatch, without any request", async () => {
    const { client, idp } = setup({ scope: "api" });
    const error = await rejection(client.handleCallback(`${REDIRECT_URI}?code=c&state=forged`));
    expect(error.code).toBe("state_mismatch");
    expect(idp.calls).toHaveLength(0);
  });

  it("refuses a callback that repeats a parameter, without any request", async () => {
    const { client, idp, opened } = setup({ scope: "api" });
    const { callbackUrl } = await loginAndCallback(client, opened);
    const error = await rejection(client.handleCallback(`${callbackUrl}&code=other`));
    expect(error.code).toBe("invalid_callback");
    expect(idp.callsTo(TOKEN_URL)).toHaveLength(0);
  });
});

describe("timeouts", () => {
  /** A fetch that never answers, but gives up when its signal aborts, as fetch does. */
  const hanging = vi.fn(
    (_input: string | URL | Request, init: RequestInit = {}) =>
      new Promise<Response>((_resolve, reject) => {
        const { signal } = init;
        if (!signal) return reject(new Error("no signal given"));
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
  );

  it("a discovery that never answers yields code network, mentioning the timeout and the URL", async () => {
    const { client, opened } = setup({ fetch: hanging as unknown as typeof fetch, timeoutMs: 50 });
    const error = await rejection(client.login());
    expect(error.code).toBe("network");
    expect(error.message).toContain("50 ms");
    expect(error.message).toContain(DISCOVERY_URL);
    expect(error.transient).toBe(true);
    expect(opened).toHaveLength(0);
  });

  it("a token request that never answers yields code network, mentioning the timeout", async () => {
    const { client, opened } = setup({
      scope: "api",
      endpoints: { authorization: `${AUTHORITY}/authorize`, token: TOKEN_URL },
      fetch: hanging as unknown as typeof fetch,
      timeoutMs: 50,
    });
    const { callbackUrl } = await loginAndCallback(client, opened);
    const error = await rejection(client.handleCallback(callbackUrl));
    expect(error.code).toBe("network");
    expect(error.message).toMatch(/did not answer within 50 ms/);
  });
});

describe("getSnapshot", () => {
  it("returns the same object between calls when nothing changed", () => {
    const { client } = setup();
    const first = client.getSnapshot();
    expect(first.status).toBe("unauthenticated");
    expect(client.getSnapshot()).toBe(first);
    expect(client.getSnapshot()).toBe(first);
  });

  it("does not notify, nor change, on a no-op (local logout while signed out)", async () => {
    const { client } = setup();
    const first = client.getSnapshot();
    const listener = vi.fn();
    client.subscribe(listener);
    await client.logout({ local: true });
    expect(listener).not.toHaveBeenCalled();
    expect(client.getSnapshot()).toBe(first);
  });

  it("changes, and notifies, on sign-in", async () => {
    const { client, opened } = setup({ scope: "api" });
    const before = client.getSnapshot();
    const listener = vi.fn();
    client.subscribe(listener);
    const { callbackUrl } = await loginAndCallback(client, opened);
    await client.handleCallback(callbackUrl);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(client.getSnapshot()).not.toBe(before);
    expect(Object.isFrozen(client.getSnapshot())).toBe(true);
  });

  it("stays the same object across a token refresh that changes no claim", async () => {
    const { client, idp, opened } = setup({ scope: "api" });
    idp.token = () => json({ access_token: "at-1", token_type: "Bearer", expires_in: 30, refresh_token: "rt-1" });
    const { callbackUrl } = await loginAndCallback(client, opened);
    await client.handleCallback(callbackUrl);
    const signedIn = client.getSnapshot();
    const listener = vi.fn();
    client.subscribe(listener);

    let refreshBody: URLSearchParams | undefined;
    idp.token = (body) => {
      refreshBody = body;
      return json({ access_token: "at-2", token_type: "Bearer", expires_in: 300 });
    };
    await expect(client.getAccessToken({ forceRefresh: true })).resolves.toBe("at-2");
    expect(refreshBody?.get("grant_type")).toBe("refresh_token");
    expect(refreshBody?.get("refresh_token")).toBe("rt-1");
    expect(client.getSnapshot()).toBe(signedIn);
    expect(listener).not.toHaveBeenCalled();
  });

  it("unsubscribe stops notifications", async () => {
    const { client, opened } = setup({ scope: "api" });
    const listener = vi.fn();
    const unsubscribe = client.subscribe(listener);
    unsubscribe();
    const { callbackUrl } = await loginAndCallback(client, opened);
    await client.handleCallback(callbackUrl);
    expect(client.getSnapshot().status).toBe("authenticated");
    expect(listener).not.toHaveBeenCalled();
  });
});

describe("getAccessToken", () => {
  it("rejects with login_required when nobody is signed in, without any request", async () => {
    const { client, idp, opened } = setup();
    const error = await rejection(client.getAccessToken());
    expect(error.code).toBe("login_required");
    // What to do, not only what is wrong.
    expect(error.message).toContain("login()");
    expect(error.message).toContain("<RequireAuth>");
    expect(idp.calls).toHaveLength(0);
    expect(opened).toHaveLength(0);
  });
});

describe("short-lived access tokens", () => {
  it("are not refreshed in a loop: the leeway is at most half the token's lifetime", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      const { client, idp, opened } = setup({ scope: "api" });
      let issued = 0;
      idp.token = () => json({ access_token: `at-${++issued}`, token_type: "Bearer", expires_in: 20, refresh_token: `rt-${issued}` });
      const { callbackUrl } = await loginAndCallback(client, opened);
      await client.handleCallback(callbackUrl);
      // 20 s tokens with the default 60 s minValidity: still served from cache, not refreshed per call.
      expect(await client.getAccessToken()).toBe("at-1");
      expect(await client.getAccessToken()).toBe("at-1");
      // The scheduled refresh comes at half the lifetime, once.
      await vi.advanceTimersByTimeAsync(9_000);
      expect(issued).toBe(1);
      await vi.advanceTimersByTimeAsync(2_000);
      expect(issued).toBe(2);
      expect(await client.getAccessToken()).toBe("at-2");
      // A minute of a page left open: one refresh per ten seconds, not a storm.
      await vi.advanceTimersByTimeAsync(60_000);
      expect(issued).toBeLessThanOrEqual(8);
      expect(issued).toBeGreaterThanOrEqual(6);
    } finally {
      vi.useRealTimers();
    }
  });
});
