// The engine's defects found in review (issue 9), each pinned: an IdP's own login_required, a
// session from another tab during a refresh, tab messages of another shape, a tab that takes the
// lock after another one refreshed (in cookie mode too), a restore that fails only transiently,
// and dispose(). Pure client logic over a stub token endpoint; tabs are clients in one jsdom.
import { describe, expect, it, vi } from "vitest";
import type { AuthClient } from "../../src/core/AuthClient.js";
import type { AuthConfig } from "../../src/core/config.js";
import { HINT_KEY, ID, json, PROXY_URL, SESSION_KEY, STAMP_KEY, TOKEN_URL, useEngineClients } from "./engineHarness.js";

function stub() {
  const s = {
    calls: [] as URLSearchParams[],
    token: (_body: URLSearchParams): Response | Promise<Response> => json({ access_token: `at-${s.calls.length}`, token_type: "Bearer", expires_in: 300, refresh_token: `rt-${s.calls.length}` }),
    fetch: (async (input: RequestInfo | URL, init: RequestInit = {}) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url !== TOKEN_URL && url !== PROXY_URL) return new Response(null, { status: 204 });
      const body = new URLSearchParams(init.body as string | URLSearchParams | undefined);
      if (body.get("grant_type") === "refresh_token") s.calls.push(body);
      return s.token(body);
    }) as typeof fetch,
  };
  return s;
}

const newClient = useEngineClients();
const client = (s: ReturnType<typeof stub>, overrides: Partial<AuthConfig> = {}): AuthClient => newClient(s.fetch, overrides);

function stored(session: Record<string, unknown>): void {
  sessionStorage.setItem(
    SESSION_KEY,
    JSON.stringify({ accessToken: "at-old", expiresAt: Date.now() + 300_000, lifetime: 300_000, refreshToken: "rt-old", gen: "g1", stamp: "s1", scopes: ["api"], claims: {}, ...session }),
  );
}

/** Another tab, as the engine hears it: a raw channel of the same name. */
function tab(onMessage?: (data: unknown, reply: (m: unknown) => void) => void) {
  const channel = new BroadcastChannel(`react-sso:${ID}`);
  const heard: unknown[] = [];
  channel.onmessage = ({ data }) => {
    heard.push(data);
    onMessage?.(data, (m) => channel.postMessage(m));
  };
  return { heard, post: (m: unknown) => channel.postMessage(m), close: () => channel.close() };
}


describe("an IdP that answers a refresh with its own login_required", () => {
  it("ends the session (session_expired, events), instead of being mistaken for the engine's own signal", async () => {
    const s = stub();
    s.token = () => json({ error: "login_required", error_description: "The user must sign in again." }, 400);
    stored({ expiresAt: Date.now() - 1000 });
    const c = client(s);
    const events: string[] = [];
    for (const name of ["sessionExpired", "signedOut", "error"] as const) c.on(name, () => events.push(name));
    await expect(c.getAccessToken()).rejects.toMatchObject({ code: "session_expired", error: "login_required", status: 400 });
    expect(c.getSnapshot()).toMatchObject({ status: "unauthenticated", error: { code: "session_expired" } });
    expect(events).toEqual(["sessionExpired", "signedOut", "error"]);
    // Nothing left that would retry.
    expect(sessionStorage.getItem(SESSION_KEY)).toBeNull();
  });
});

describe("a session arriving from another tab while this tab's refresh is in flight", () => {
  it("is not a sign-out: this tab's own result is installed and handed to its caller", async () => {
    const s = stub();
    let answer: (r: Response) => void = () => undefined;
    s.token = () => new Promise<Response>((resolve) => (answer = resolve));
    stored({ expiresAt: Date.now() - 1000 });
    const c = client(s);
    const other = tab();
    const pending = c.getAccessToken();
    await vi.waitFor(() => expect(s.calls).toHaveLength(1));
    other.post({ session: { accessToken: "at-from-tab", expiresAt: Date.now() + 300_000, scopes: ["api"], claims: {}, sub: undefined, stamp: "s-tab" } });
    await vi.waitFor(() => expect(c.getSnapshot().status).toBe("authenticated"));
    answer(json({ access_token: "at-mine", token_type: "Bearer", expires_in: 300, refresh_token: "rt-mine" }));
    expect(await pending).toBe("at-mine");
    other.close();
  });
});

describe("messages from other tabs are validated like stored sessions", () => {
  it.each([
    ["not an object", "hello"],
    ["null", null],
    ["a session without an access token", { session: { scopes: [], claims: {} } }],
    ["a session whose scopes are not strings", { session: { accessToken: "x", scopes: [1], claims: {} } }],
    ["a session with a numeric refresh token", { session: { accessToken: "x", scopes: [], claims: {}, refreshToken: 5 } }],
    ["a session with a string expiry", { session: { accessToken: "x", scopes: [], claims: {}, expiresAt: "soon" } }],
    ["an out message without out: true", { out: "yes" }],
  ])("%s is ignored", async (_, message) => {
    stored({});
    localStorage.setItem(STAMP_KEY, JSON.stringify("s1"));
    const c = client(stub());
    const other = tab();
    other.post(message);
    // A question after it, which this tab answers: channels deliver in order, so by the answer the
    // message before it was handled.
    other.post({ ask: true });
    await vi.waitFor(() => expect(other.heard).toContainEqual({ session: expect.objectContaining({ accessToken: "at-old" }) }));
    expect(c.getSnapshot()).toMatchObject({ status: "authenticated", user: expect.anything() });
    expect(JSON.parse(sessionStorage.getItem(SESSION_KEY) as string).accessToken).toBe("at-old");
    other.close();
  });
});

describe("a tab that takes the lock after another tab refreshed", () => {
  it("waits for that tab's session (by its stamp) and sends no request of its own", async () => {
    const s = stub();
    stored({ expiresAt: Date.now() - 1000 });
    const c = client(s);
    // The other tab refreshed: its stamp is the newest, and it answers when asked.
    localStorage.setItem(STAMP_KEY, JSON.stringify("s-newer"));
    const other = tab((data, reply) => {
      if ((data as { ask?: boolean }).ask) reply({ session: { accessToken: "at-newer", expiresAt: Date.now() + 300_000, refreshToken: "rt-newer", gen: "g1", stamp: "s-newer", scopes: ["api"], claims: {} } });
    });
    expect(await c.getAccessToken()).toBe("at-newer");
    expect(s.calls).toHaveLength(0);
    other.close();
  });

  it("in the proxy's cookie mode too, where there is no refresh token to compare", async () => {
    const s = stub();
    stored({ refreshToken: undefined, gen: undefined, cookie: true, expiresAt: Date.now() - 1000 });
    const c = client(s, { tokenProxy: "/auth/token", storage: "session" });
    localStorage.setItem(STAMP_KEY, JSON.stringify("s-newer"));
    const other = tab((data, reply) => {
      if ((data as { ask?: boolean }).ask) reply({ session: { accessToken: "at-newer", expiresAt: Date.now() + 300_000, cookie: true, stamp: "s-newer", scopes: ["api"], claims: {} } });
    });
    expect(await c.getAccessToken()).toBe("at-newer");
    expect(s.calls).toHaveLength(0);
    other.close();
  });

  it("in cookie mode, when no tab answers, refreshes through the proxy (its cookie holds the current token)", async () => {
    const s = stub();
    s.token = () => json({ access_token: "at-proxy", token_type: "Bearer", expires_in: 300, refresh_token_in_cookie: true });
    stored({ refreshToken: undefined, gen: undefined, cookie: true, expiresAt: Date.now() - 1000 });
    const c = client(s, { tokenProxy: "/auth/token", storage: "session" });
    localStorage.setItem(STAMP_KEY, JSON.stringify("s-of-a-closed-tab"));
    expect(await c.getAccessToken()).toBe("at-proxy");
    expect(s.calls).toHaveLength(1);
  });

  it("records its own stamp for the next tab", async () => {
    const s = stub();
    stored({ expiresAt: Date.now() - 1000 });
    const c = client(s);
    await c.getAccessToken();
    const stamp = JSON.parse(localStorage.getItem(STAMP_KEY) as string) as string;
    expect(stamp).toMatch(/^[\w-]{20,}$/);
    expect(JSON.parse(sessionStorage.getItem(SESSION_KEY) as string).stamp).toBe(stamp);
  });
});

describe("a restore through the proxy's cookie that fails transiently", () => {
  it("is retried with backoff, keeps the status loading (guards wait) with a transient error, and signs in when it succeeds", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const s = stub();
    let down = 2;
    s.token = () => (down-- > 0 ? json({ error: "temporarily_unavailable" }, 503) : json({ access_token: "at-back", token_type: "Bearer", expires_in: 300, refresh_token_in_cookie: true }));
    localStorage.setItem(HINT_KEY, "1");
    const c = client(s, { tokenProxy: "/auth/token" });
    await vi.waitFor(() => expect(s.calls).toHaveLength(1));
    await vi.waitFor(() => expect(c.getSnapshot().error?.transient).toBe(true));
    expect(c.getSnapshot().status).toBe("loading");
    await vi.advanceTimersByTimeAsync(1000);
    await vi.waitFor(() => expect(s.calls).toHaveLength(2));
    await vi.advanceTimersByTimeAsync(2000);
    await vi.waitFor(() => expect(c.getSnapshot().status).toBe("authenticated"));
    expect(s.calls).toHaveLength(3);
    expect(await c.getAccessToken()).toBe("at-back");
  });

  it("getAccessToken() tries the restore again at once instead of answering 'nobody'", async () => {
    const s = stub();
    let down = 1;
    s.token = () => (down-- > 0 ? json({ error: "temporarily_unavailable" }, 503) : json({ access_token: "at-back", token_type: "Bearer", expires_in: 300, refresh_token_in_cookie: true }));
    localStorage.setItem(HINT_KEY, "1");
    const c = client(s, { tokenProxy: "/auth/token" });
    await vi.waitFor(() => expect(c.getSnapshot().error?.transient).toBe(true));
    expect(await c.getAccessToken()).toBe("at-back");
    expect(c.getSnapshot().status).toBe("authenticated");
  });
});

describe("dispose()", () => {
  it("releases the channel, the page listeners and the timers, and is idempotent", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const channels: BroadcastChannel[] = [];
    const Native = globalThis.BroadcastChannel;
    vi.stubGlobal(
      "BroadcastChannel",
      class extends Native {
        closed = false;
        constructor(name: string) {
          super(name);
          channels.push(this);
        }
        override close() {
          this.closed = true;
          super.close();
        }
      },
    );
    const live = new Set<string>();
    let added = 0;
    for (const [name, target] of [["window", window], ["document", document]] as const) {
      const add = target.addEventListener.bind(target);
      const remove = target.removeEventListener.bind(target);
      const keyOf = new WeakMap<object, number>();
      vi.spyOn(target, "addEventListener").mockImplementation((type, listener, options) => {
        if (listener) keyOf.set(listener, keyOf.get(listener) ?? added++);
        if (listener) live.add(`${name} ${type} ${keyOf.get(listener)}`);
        add(type, listener, options);
      });
      vi.spyOn(target, "removeEventListener").mockImplementation((type, listener, options) => {
        if (listener) live.delete(`${name} ${type} ${keyOf.get(listener)}`);
        remove(type, listener, options);
      });
    }
    stored({});
    const before = vi.getTimerCount();
    const c = client(stub());
    // The refresh scheduled ahead of expiry.
    expect(vi.getTimerCount()).toBe(before + 1);
    expect(channels).toHaveLength(1);
    // visibilitychange, online, focus, pageshow.
    expect(live.size).toBeGreaterThanOrEqual(4);
    c.dispose();
    c.dispose();
    expect(vi.getTimerCount()).toBe(before);
    expect(channels.every((ch) => (ch as unknown as { closed: boolean }).closed)).toBe(true);
    expect([...live]).toEqual([]);
  });

  it("needs no AbortSignal for its listeners: a test DOM (jsdom) may refuse the runtime's own", () => {
    for (const target of [window, document]) {
      const add = target.addEventListener.bind(target);
      vi.spyOn(target, "addEventListener").mockImplementation((type, listener, options) => {
        if (typeof options === "object" && options.signal) throw new TypeError("parameter 3 dictionary has member 'signal' that is not of type 'AbortSignal'");
        add(type, listener, options);
      });
    }
    stored({});
    const c = client(stub());
    expect(c.getSnapshot().status).toBe("authenticated");
    c.dispose();
  });

  it("afterwards every method fails with code disposed", async () => {
    const c = client(stub());
    c.dispose();
    const calls: Array<() => Promise<unknown>> = [
      () => c.login(),
      () => c.handleCallback("http://localhost:3000/callback?code=x&state=y"),
      () => c.getAccessToken(),
      () => c.logout(),
      () => c.authFetch("http://localhost:3000/api"),
    ];
    for (const call of calls) await expect(Promise.resolve().then(call)).rejects.toMatchObject({ name: "AuthError", code: "disposed" });
    for (const call of [() => c.getSnapshot(), () => c.subscribe(() => undefined), () => c.on("error", () => undefined)]) {
      expect(call).toThrow(expect.objectContaining({ code: "disposed" }));
    }
  });

  it("drops a refresh that was in flight: nothing is installed or broadcast after it", async () => {
    const s = stub();
    let answer: (r: Response) => void = () => undefined;
    s.token = () => new Promise<Response>((resolve) => (answer = resolve));
    stored({ expiresAt: Date.now() - 1000 });
    const c = client(s);
    const listener = tab();
    const pending = c.getAccessToken();
    await vi.waitFor(() => expect(s.calls).toHaveLength(1));
    c.dispose();
    answer(json({ access_token: "at-late", token_type: "Bearer", expires_in: 300, refresh_token: "rt-late" }));
    await expect(pending).rejects.toMatchObject({ code: "login_required" });
    expect(JSON.parse(sessionStorage.getItem(SESSION_KEY) as string).accessToken).toBe("at-old");
    expect(listener.heard).toEqual([]);
    listener.close();
  });
});
