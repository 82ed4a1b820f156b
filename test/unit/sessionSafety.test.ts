// The session's edge cases found in review: tabs that slept through a rotation, a logout racing a
// refresh, short or missing token lifetimes, and what each mode of the proxy can refresh.
// Pure client logic over a stub token endpoint; the real IdP runs in test/integration.
import { describe, expect, it, vi } from "vitest";
import type { AuthConfig } from "../../src/core/config.js";
import type { AuthClient } from "../../src/core/AuthClient.js";
import { AUTHORITY, TOKEN_URL, PROXY_URL, SESSION_KEY, GEN_KEY, json, useEngineClients } from "./engineHarness.js";

interface Stub {
  calls: { url: string; body: URLSearchParams }[];
  token: (body: URLSearchParams) => Response;
  fetch: typeof fetch;
}

function stub(): Stub {
  const s: Stub = {
    calls: [],
    token: () => json({ access_token: "at-new", token_type: "Bearer", expires_in: 300, refresh_token: "rt-new" }),
    fetch: (async (input: RequestInfo | URL, init: RequestInit = {}) => {
      const url = String(input instanceof Request ? input.url : input);
      const body = new URLSearchParams(typeof init.body === "string" ? init.body : (init.body as URLSearchParams | undefined));
      s.calls.push({ url, body });
      return url === TOKEN_URL || url === PROXY_URL ? s.token(body) : new Response(null, { status: 204 });
    }) as typeof fetch,
  };
  return s;
}

const newClient = useEngineClients();
const client = (s: Stub, overrides: Partial<AuthConfig> = {}): AuthClient => newClient(s.fetch, overrides);

/** A session as this tab stored it: `gen` names the refresh token it holds. */
function stored(session: Record<string, unknown>): void {
  sessionStorage.setItem(
    SESSION_KEY,
    JSON.stringify({ accessToken: "at-1", expiresAt: Date.now() + 300_000, lifetime: 300_000, refreshToken: "rt-1", gen: "g1", scopes: ["api"], claims: {}, ...session }),
  );
}

const tokenCalls = (s: Stub) => s.calls.filter((c) => c.url === TOKEN_URL || c.url === PROXY_URL);


describe("a tab whose refresh token was rotated by another tab", () => {
  it("gets the current session from a tab that has it, instead of reusing its dead refresh token", async () => {
    const s = stub();
    stored({ accessToken: "at-2", refreshToken: "rt-2", gen: "g2" });
    localStorage.setItem(GEN_KEY, JSON.stringify("g2"));
    const current = client(s);
    // This tab slept through the rotation: its storage still has the previous generation.
    stored({ accessToken: "at-1", refreshToken: "rt-1", gen: "g1", expiresAt: Date.now() - 1000 });
    const stale = client(s);
    expect(await stale.getAccessToken()).toBe("at-2");
    expect(tokenCalls(s)).toHaveLength(0);
    expect(current.getSnapshot().status).toBe("authenticated");
  });

  it("ends only its own session when no tab has the current one, and the others stay signed in", async () => {
    const s = stub();
    stored({ accessToken: "at-x", refreshToken: "rt-x", gen: "gx" });
    const other = client(s);
    // The newest generation is one that no open tab holds.
    localStorage.setItem(GEN_KEY, JSON.stringify("g-newest"));
    stored({ gen: "g1", expiresAt: Date.now() - 1000 });
    const stale = client(s);
    // Listen as a third tab, created after the other one: channels receive in creation order, so
    // once this one has the expiry broadcast, the other tab has had it too.
    const tab = new BroadcastChannel(`react-sso:${AUTHORITY}:spa`);
    const heard: unknown[] = [];
    tab.onmessage = ({ data }) => heard.push(data);
    await expect(stale.getAccessToken()).rejects.toMatchObject({ code: "session_expired" });
    expect(tokenCalls(s)).toHaveLength(0);
    // The broadcast names the dead generation, which is not the other tab's.
    await vi.waitFor(() => expect(heard).toContainEqual({ out: true, expired: true, gen: "g1" }));
    expect(other.getSnapshot().status).toBe("authenticated");
    tab.close();
  });

  it("a sign-out, unlike an expiry, ends every tab", async () => {
    const s = stub();
    stored({});
    const a = client(s);
    const b = client(s);
    await a.logout({ local: true });
    await vi.waitFor(() => expect(b.getSnapshot().status).toBe("unauthenticated"));
  });
});

describe("a logout while a refresh waits for the lock", () => {
  it("wins: the refresh is dropped without a request, and nobody is signed back in", async () => {
    const queue: Array<() => void> = [];
    vi.stubGlobal("navigator", {
      ...navigator,
      onLine: true,
      locks: { request: (_name: string, task: () => Promise<unknown>) => new Promise((resolve, reject) => queue.push(() => void task().then(resolve, reject))) },
    });
    const s = stub();
    stored({ expiresAt: Date.now() - 1000 });
    const c = client(s);
    const pending = c.getAccessToken();
    // The refresh is now waiting for the lock.
    await vi.waitFor(() => expect(queue).toHaveLength(1));
    await c.logout({ local: true });
    for (const run of queue.splice(0)) run();
    await expect(pending).rejects.toMatchObject({ code: "login_required" });
    expect(tokenCalls(s)).toHaveLength(0);
    expect(c.getSnapshot()).toMatchObject({ status: "unauthenticated", error: null });
  });
});

describe("token lifetimes", () => {
  it("expires_in: 0 does not refresh in a loop", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const s = stub();
    s.token = () => json({ access_token: `at-${s.calls.length}`, token_type: "Bearer", expires_in: 0, refresh_token: "rt" });
    stored({ expiresAt: Date.now() + 10_000, lifetime: 0 });
    client(s);
    await vi.advanceTimersByTimeAsync(60_000);
    // At least 5 s apart.
    expect(tokenCalls(s).length).toBeLessThanOrEqual(12);
    expect(tokenCalls(s).length).toBeGreaterThan(0);
  });

  it("an explicit minValidity longer than the token's lifetime still refreshes", async () => {
    const s = stub();
    stored({ expiresAt: Date.now() + 100_000, lifetime: 300_000 });
    const c = client(s);
    expect(await c.getAccessToken()).toBe("at-1");
    expect(await c.getAccessToken({ minValidity: 600 })).toBe("at-new");
    expect(tokenCalls(s)).toHaveLength(1);
  });
});

describe("what each mode can refresh", () => {
  it("through the proxy's cookie: refreshes, because the proxy says its cookie holds a refresh token", async () => {
    const s = stub();
    s.token = () => json({ access_token: "at-new", token_type: "Bearer", expires_in: 300, refresh_token_in_cookie: true });
    stored({ refreshToken: undefined, gen: undefined, cookie: true, expiresAt: Date.now() - 1000 });
    const c = client(s, { tokenProxy: "/auth/token", storage: "session" });
    expect(await c.getAccessToken()).toBe("at-new");
    expect(tokenCalls(s)[0]?.body.has("refresh_token")).toBe(false);
  });

  it("without a refresh token anywhere (the IdP gave none): no refresh request, the session ends at expiry", async () => {
    const s = stub();
    stored({ refreshToken: undefined, gen: undefined, cookie: false, expiresAt: Date.now() - 1000 });
    const c = client(s, { tokenProxy: "/auth/token", storage: "session" });
    await expect(c.getAccessToken()).rejects.toMatchObject({ code: "login_required" });
    expect(tokenCalls(s)).toHaveLength(0);
  });

  it.each<[string, () => Response | Promise<Response>]>([
    ["answers 502", () => json({ error: "temporarily_unavailable", error_description: "The refresh token could not be revoked at the identity provider; it was cleared here." }, 502)],
    ["cannot be reached", () => Promise.reject(new TypeError("Failed to fetch"))],
  ])("a logout whose revocation %s signs out here anyway, and says so in an error event", async (_, answer) => {
    const s = stub();
    s.token = () => json({ access_token: "at-new", token_type: "Bearer", expires_in: 300 });
    stored({});
    const fetched = s.fetch;
    s.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => (String(input) === PROXY_URL ? answer() : fetched(input, init))) as typeof fetch;
    const revoking = client(s, { tokenProxy: "/auth/token", storage: "session" });
    const errors: string[] = [];
    revoking.on("error", ({ error }) => errors.push(`${error.code}: ${error.message}`));
    await revoking.logout();
    expect(revoking.getSnapshot().status).toBe("unauthenticated");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/could not be revoked at the IdP/);
  });

  it("logout in passthrough mode hands the refresh token to the proxy, which revokes it", async () => {
    const s = stub();
    stored({});
    const c = client(s, { tokenProxy: "/auth/token", storage: "session" });
    await c.logout();
    const logout = s.calls.find((call) => call.url === PROXY_URL);
    expect(logout?.body.get("action")).toBe("logout");
    expect(logout?.body.get("token")).toBe("rt-1");
  });
});

describe("retries", () => {
  it("while a backoff is under way, callers get the valid token without a request each", async () => {
    const s = stub();
    s.token = () => json({ error: "temporarily_unavailable" }, 503);
    stored({ expiresAt: Date.now() + 30_000 });
    const c = client(s);
    expect(await c.getAccessToken()).toBe("at-1");
    expect(tokenCalls(s)).toHaveLength(1);
    for (let i = 0; i < 5; i++) expect(await c.getAccessToken()).toBe("at-1");
    expect(tokenCalls(s)).toHaveLength(1);
  });
});

describe("the callback page", () => {
  it("visited again by a signed-in user (no response in the URL) goes home instead of failing", async () => {
    const s = stub();
    stored({});
    window.history.replaceState(null, "", "/callback");
    const c = client(s);
    expect(await c.handleCallback()).toBe("/");
  });
});

describe("a session from another tab", () => {
  it("is a refresh for the same user, and a sign-in for another one", async () => {
    const s = stub();
    stored({ sub: "ada", claims: { sub: "ada" } });
    const a = client(s);
    const events: string[] = [];
    a.on("signedIn", () => events.push("signedIn"));
    a.on("refreshed", () => events.push("refreshed"));
    const tab = new BroadcastChannel(`react-sso:${AUTHORITY}:spa`);
    const session = { accessToken: "at-2", expiresAt: Date.now() + 300_000, scopes: ["api"], claims: { sub: "ada" }, sub: "ada" };
    tab.postMessage({ session });
    await vi.waitFor(() => expect(events).toEqual(["refreshed"]));
    tab.postMessage({ session: { ...session, accessToken: "at-bob", sub: "bob", claims: { sub: "bob" } } });
    await vi.waitFor(() => expect(events).toEqual(["refreshed", "signedIn"]));
    expect(a.getSnapshot().user?.sub).toBe("bob");
    tab.close();
  });
});
