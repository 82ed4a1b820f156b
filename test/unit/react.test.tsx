import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { StrictMode, type ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LOADING, type AuthSnapshot, type AuthUser } from "../../src/core/authState.js";
import {
  AuthError,
  Callback,
  OAuthProvider,
  RequireAuth,
  createAuthClient,
  useAuth,
  type AuthClient,
  type AuthConfig,
  type UseAuthResult,
} from "react-sso-kit";

const AUTHORITY = "https://sso.example.com";
const DISCOVERY_URL = `${AUTHORITY}/.well-known/openid-configuration`;

const ADA: AuthUser = Object.freeze({ sub: "u1", claims: Object.freeze({ name: "Ada" }), scopes: Object.freeze(["openid"]) });
const snap = (status: AuthSnapshot["status"], user: AuthUser | null = null, error: AuthError | null = null): AuthSnapshot =>
  Object.freeze({ status, user, error });

/** A client whose snapshot the test drives, with every method a vi.fn(). */
function stubClient(initial: AuthSnapshot = LOADING) {
  let snapshot = initial;
  const listeners = new Set<() => void>();
  let settle: { resolve: (returnTo: string) => void; reject: (err: unknown) => void } = { resolve: () => undefined, reject: () => undefined };
  const callback = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject };
  });
  callback.catch(() => undefined);
  const client = {
    login: vi.fn(async () => undefined),
    logout: vi.fn(async () => undefined),
    getAccessToken: vi.fn(async () => "at"),
    authFetch: vi.fn(async () => new Response(null)),
    handleCallback: vi.fn(() => callback),
    subscribe: vi.fn((listener: () => void) => {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    }),
    getSnapshot: () => snapshot,
    on: vi.fn(() => () => undefined),
    dispose: vi.fn(),
  } satisfies AuthClient;
  return {
    client,
    /** Publishes `next` (possibly the same object) to every subscriber. */
    publish(next: AuthSnapshot = snapshot) {
      snapshot = next;
      act(() => {
        for (const listener of [...listeners]) listener();
      });
    },
    /** Settles the promise handleCallback returns, and waits for React to see it. */
    async resolveCallback(returnTo: string) {
      settle.resolve(returnTo);
      await act(async () => {
        await callback;
      });
    },
    async rejectCallback(err: unknown) {
      settle.reject(err);
      await act(async () => {
        await callback.catch(() => undefined);
      });
    },
  };
}

const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });

/** A stub IdP's fetch that answers discovery, counting requests. */
function discoveryFetch() {
  return vi.fn(async (input: string | URL | Request) => {
    if (String(input) === DISCOVERY_URL) {
      return json({ issuer: AUTHORITY, authorization_endpoint: `${AUTHORITY}/authorize`, token_endpoint: `${AUTHORITY}/token`, code_challenge_methods_supported: ["S256"] });
    }
    return new Response("not found", { status: 404 });
  });
}

function realConfig(fetch: ReturnType<typeof discoveryFetch>, opened: string[]): AuthConfig {
  return {
    authority: AUTHORITY,
    clientId: "spa",
    redirectUri: "http://localhost:3000/callback",
    storage: "memory",
    fetch: fetch as unknown as typeof globalThis.fetch,
    openUrl: (url) => void opened.push(url),
  };
}

const discoveries = (fetch: ReturnType<typeof discoveryFetch>) => fetch.mock.calls.filter(([input]) => String(input) === DISCOVERY_URL).length;

function withProvider(client: AuthClient, ui: ReactNode, navigate?: (to: string) => void) {
  return <OAuthProvider client={client} navigate={navigate}>{ui}</OAuthProvider>;
}

/** Lets pending promises and effects run, so that a call that should not happen would have happened. */
const flush = () => act(async () => {
  await new Promise<void>((resolve) => queueMicrotask(resolve));
});

beforeEach(() => {
  sessionStorage.clear();
  window.history.replaceState(null, "", "/");
});

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

describe("useAuth", () => {
  it("throws outside <OAuthProvider>, with a message that names it", () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    function Probe() {
      useAuth();
      return null;
    }
    expect(() => render(<Probe />)).toThrow(/<OAuthProvider>/);
  });

  it("so do <RequireAuth> and <Callback>", () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(() => render(<RequireAuth>x</RequireAuth>)).toThrow(/OAuthProvider/);
    expect(() => render(<Callback />)).toThrow(/OAuthProvider/);
  });

  it("exposes the snapshot's status, user and error", () => {
    const { client, publish } = stubClient(LOADING);
    const seen: UseAuthResult[] = [];
    function Probe() {
      seen.push(useAuth());
      return null;
    }
    render(withProvider(client, <Probe />));
    expect(seen.at(-1)).toMatchObject({ status: "loading", isLoading: true, isAuthenticated: false, user: null, error: null });
    publish(snap("authenticated", ADA));
    expect(seen.at(-1)).toMatchObject({ status: "authenticated", isLoading: false, isAuthenticated: true, user: ADA });
  });

  it("keeps login, logout and getAccessToken identity across renders", () => {
    const { client, publish } = stubClient(LOADING);
    const seen: UseAuthResult[] = [];
    function Probe() {
      seen.push(useAuth());
      return null;
    }
    render(<StrictMode>{withProvider(client, <Probe />)}</StrictMode>);
    publish(snap("unauthenticated"));
    publish(snap("authenticated", ADA));
    expect(new Set(seen.map((r) => r.status)).size).toBe(3);
    for (const name of ["login", "logout", "getAccessToken"] as const) {
      expect(new Set(seen.map((r) => r[name])).size, name).toBe(1);
    }
  });

  it("does not re-render when the client notifies with the same snapshot object", () => {
    const { client, publish } = stubClient(snap("unauthenticated"));
    let renders = 0;
    function Counter() {
      renders++;
      return <p>{useAuth().status}</p>;
    }
    render(withProvider(client, <Counter />));
    const afterMount = renders;
    publish();
    publish();
    expect(renders).toBe(afterMount);
    publish(snap("authenticated", ADA));
    expect(renders).toBe(afterMount + 1);
    expect(screen.getByText("authenticated")).toBeDefined();
  });
});

describe("<OAuthProvider config>", () => {
  it("keeps one client when re-rendered with a new config literal: same login, no second discovery", async () => {
    const firstFetch = discoveryFetch();
    const laterFetch = discoveryFetch();
    const opened: string[] = [];
    const seen: UseAuthResult[] = [];
    function Probe() {
      seen.push(useAuth());
      return null;
    }
    const app = (fetch: ReturnType<typeof discoveryFetch>) => (
      <StrictMode>
        <OAuthProvider config={{ ...realConfig(fetch, opened) }}>
          <Probe />
        </OAuthProvider>
      </StrictMode>
    );
    const { rerender } = render(app(firstFetch));
    await act(() => seen.at(-1)?.login());
    rerender(app(laterFetch));
    rerender(app(laterFetch));
    await act(() => seen.at(-1)?.login());

    expect(new Set(seen.map((r) => r.login)).size).toBe(1);
    expect(new Set(seen.map((r) => r.getAccessToken)).size).toBe(1);
    expect(opened).toHaveLength(2);
    expect(discoveries(firstFetch)).toBe(1);
    expect(laterFetch).not.toHaveBeenCalled();
  });
});

describe("<OAuthProvider> owns the client it creates", () => {
  /** Counts what clients leave open in the page: channels, timers, and listeners not yet removed or aborted. */
  function resourceCounter() {
    let openChannels = 0;
    const Native = globalThis.BroadcastChannel;
    vi.stubGlobal(
      "BroadcastChannel",
      class extends Native {
        constructor(name: string) {
          super(name);
          openChannels++;
        }
        override close() {
          openChannels--;
          super.close();
        }
      },
    );
    const live = new Set<{ signal: AbortSignal | undefined; type: string; listener: unknown }>();
    for (const target of [window, document] as EventTarget[]) {
      const add = target.addEventListener.bind(target);
      const remove = target.removeEventListener.bind(target);
      vi.spyOn(target, "addEventListener").mockImplementation((type, listener, options) => {
        live.add({ signal: typeof options === "object" ? options.signal : undefined, type, listener });
        add(type, listener, options);
      });
      vi.spyOn(target, "removeEventListener").mockImplementation((type, listener, options) => {
        for (const entry of live) if (entry.type === type && entry.listener === listener) live.delete(entry);
        remove(type, listener, options);
      });
    }
    return {
      channels: () => openChannels,
      listeners: () => [...live].filter((entry) => !entry.signal?.aborted).length,
    };
  }

  it("after 50 mount/unmount cycles, leaves no channel, timer or page listener open", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      const counts = resourceCounter();
      const timersBefore = vi.getTimerCount();
      const listenersBefore = counts.listeners();
      // A session in storage, so that every client schedules a refresh and opens its channel.
      sessionStorage.setItem(
        `react-sso.session:${AUTHORITY}:spa`,
        JSON.stringify({ accessToken: "at", expiresAt: Date.now() + 300_000, refreshToken: "rt", scopes: ["openid"], claims: {} }),
      );
      for (let i = 0; i < 50; i++) {
        const view = render(
          <StrictMode>
            <OAuthProvider config={{ ...realConfig(discoveryFetch(), []), storage: "session" }}>
              <RequireAuth>signed in</RequireAuth>
            </OAuthProvider>
          </StrictMode>,
        );
        expect(view.container.textContent).toBe("signed in");
        // While mounted (StrictMode mounted it twice): one live client with one channel.
        expect(counts.channels()).toBe(1);
        view.unmount();
        // The provider disposes its client a microtask after the unmount (StrictMode remounts before that).
        await vi.waitFor(() => expect(counts.channels()).toBe(0));
      }
      expect(vi.getTimerCount()).toBe(timersBefore);
      expect(counts.listeners()).toBe(listenersBefore);
    } finally {
      vi.useRealTimers();
      vi.unstubAllGlobals();
    }
  });

  it("leaves a client passed in with client={…} alone: it belongs to the app", async () => {
    const client = createAuthClient(realConfig(discoveryFetch(), []));
    const view = render(withProvider(client, <p>app</p>));
    view.unmount();
    await flush();
    expect(client.getSnapshot().status).toBe("unauthenticated");
    client.dispose();
  });

  it("under StrictMode on the callback page: one client, one code exchange", async () => {
    const fetch = discoveryFetch();
    const opened: string[] = [];
    const probe = render(
      <OAuthProvider config={{ ...realConfig(fetch, opened), scope: "api" }}>
        <RequireAuth fallback={<p>redirecting</p>}>secret</RequireAuth>
      </OAuthProvider>,
    );
    await waitFor(() => expect(opened).toHaveLength(1));
    probe.unmount();
    await flush();
    const state = new URL(opened[0] as string).searchParams.get("state") as string;
    window.history.replaceState(null, "", `/callback?code=c0de&state=${state}`);
    fetch.mockImplementation(async (input: string | URL | Request) =>
      String(input) === DISCOVERY_URL
        ? json({ issuer: AUTHORITY, authorization_endpoint: `${AUTHORITY}/authorize`, token_endpoint: `${AUTHORITY}/token`, code_challenge_methods_supported: ["S256"] })
        : json({ access_token: "at", token_type: "Bearer", expires_in: 300 }),
    );
    const seen = new Set<unknown>();
    function Probe() {
      seen.add(useAuth().login);
      return null;
    }
    render(
      <StrictMode>
        <OAuthProvider config={{ ...realConfig(fetch, opened), scope: "api" }}>
          <Callback />
          <Probe />
        </OAuthProvider>
      </StrictMode>,
    );
    await waitFor(() => expect(window.location.pathname).toBe("/"));
    const exchanges = fetch.mock.calls.filter(([input]) => String(input) === `${AUTHORITY}/token`);
    expect(exchanges).toHaveLength(1);
    // Every render saw the same client (its login function), so StrictMode kept the first one.
    expect(seen.size).toBe(1);
  });
});

describe("<RequireAuth>", () => {
  it("renders the fallback while loading, without logging in", async () => {
    const { client } = stubClient(LOADING);
    render(<StrictMode>{withProvider(client, <RequireAuth fallback={<p>wait</p>}>secret</RequireAuth>)}</StrictMode>);
    await flush();
    expect(screen.getByText("wait")).toBeDefined();
    expect(screen.queryByText("secret")).toBeNull();
    expect(client.login).not.toHaveBeenCalled();
  });

  it("renders the children when authenticated", async () => {
    const { client } = stubClient(snap("authenticated", ADA));
    render(<StrictMode>{withProvider(client, <RequireAuth fallback={<p>wait</p>}>secret</RequireAuth>)}</StrictMode>);
    expect(screen.getByText("secret")).toBeDefined();
    expect(screen.queryByText("wait")).toBeNull();
    await flush();
    expect(client.login).not.toHaveBeenCalled();
  });

  it("switches from the fallback to the children when the session arrives", () => {
    const { client, publish } = stubClient(LOADING);
    render(withProvider(client, <RequireAuth fallback={<p>wait</p>}>secret</RequireAuth>));
    expect(screen.getByText("wait")).toBeDefined();
    publish(snap("authenticated", ADA));
    expect(screen.getByText("secret")).toBeDefined();
  });

  it("renders onUnauthenticated() instead of redirecting", async () => {
    const { client } = stubClient(snap("unauthenticated"));
    render(
      <StrictMode>
        {withProvider(client, <RequireAuth onUnauthenticated={() => <a href="/login">Sign in</a>}>secret</RequireAuth>)}
      </StrictMode>,
    );
    expect(screen.getByText("Sign in")).toBeDefined();
    expect(screen.queryByText("secret")).toBeNull();
    await flush();
    expect(client.login).not.toHaveBeenCalled();
  });

  it("calls login once with returnTo = path + search + hash and the loginOptions", async () => {
    window.history.replaceState(null, "", "/account/orders?page=2#latest");
    const { client } = stubClient(snap("unauthenticated"));
    render(
      withProvider(
        client,
        <RequireAuth fallback={<p>redirecting</p>} loginOptions={{ extraParams: { prompt: "login" } }}>
          secret
        </RequireAuth>,
      ),
    );
    await waitFor(() => expect(client.login).toHaveBeenCalled());
    expect(client.login).toHaveBeenCalledTimes(1);
    expect(client.login).toHaveBeenCalledWith({ extraParams: { prompt: "login" }, returnTo: "/account/orders?page=2#latest" });
    expect(screen.getByText("redirecting")).toBeDefined();
  });

  it("opens exactly one login URL under <StrictMode> with a real client", async () => {
    window.history.replaceState(null, "", "/account?tab=2#x");
    const fetch = discoveryFetch();
    const opened: string[] = [];
    const client = createAuthClient(realConfig(fetch, opened));
    render(<StrictMode>{withProvider(client, <RequireAuth fallback={<p>redirecting</p>}>secret</RequireAuth>)}</StrictMode>);
    await waitFor(() => expect(opened).toHaveLength(1));
    await flush();
    expect(opened).toHaveLength(1);
    expect(discoveries(fetch)).toBe(1);
    const state = new URL(opened[0] as string).searchParams.get("state");
    expect(JSON.parse(sessionStorage.getItem(`react-sso.tx.${state}`) ?? "{}")).toMatchObject({ returnTo: "/account?tab=2#x" });
    expect(screen.getByText("redirecting")).toBeDefined();
  });

  it("does not log in on the callback page: it waits while the callback is processed, even without <Callback>", async () => {
    window.history.replaceState(null, "", "/callback?code=c&state=s");
    const fetch = discoveryFetch();
    const opened: string[] = [];
    const client = createAuthClient(realConfig(fetch, opened));
    render(<StrictMode>{withProvider(client, <RequireAuth fallback={<p>wait</p>}>secret</RequireAuth>)}</StrictMode>);
    expect(client.getSnapshot().status).toBe("loading");
    expect(screen.getByText("wait")).toBeDefined();
    // The client completes the callback itself; this one answers no login of this tab.
    await waitFor(() => expect(client.getSnapshot().status).toBe("error"));
    expect(client.getSnapshot().error?.code).toBe("state_mismatch");
    expect(screen.getByRole("alert")).toBeDefined();
    expect(opened).toHaveLength(0);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('shows the error UI (role="alert") on status "error", and does not log in', async () => {
    const error = new AuthError("access_denied", "The IdP: access was denied.");
    const { client } = stubClient(snap("error", null, error));
    render(<StrictMode>{withProvider(client, <RequireAuth fallback={<p>wait</p>}>secret</RequireAuth>)}</StrictMode>);
    const alert = screen.getByRole("alert");
    expect(alert.textContent).toContain("The IdP: access was denied.");
    expect(alert.getAttribute("data-react-sso-error")).toBe("access_denied");
    expect(screen.queryByText("secret")).toBeNull();
    await flush();
    expect(client.login).not.toHaveBeenCalled();
  });

  it("renders errorElement(error) when given", () => {
    const error = new AuthError("network", "down");
    const { client } = stubClient(snap("error", null, error));
    render(withProvider(client, <RequireAuth errorElement={(e) => <p>custom {e.code}</p>}>secret</RequireAuth>));
    expect(screen.getByText("custom network")).toBeDefined();
    expect(screen.queryByRole("alert")).toBeNull();
  });
});

describe("<Callback>", () => {
  it("renders loading, then calls onSuccess(returnTo) exactly once under <StrictMode>", async () => {
    const stub = stubClient(LOADING);
    const onSuccess = vi.fn();
    render(<StrictMode>{withProvider(stub.client, <Callback loading={<p>finishing</p>} onSuccess={onSuccess} />)}</StrictMode>);
    expect(screen.getByText("finishing")).toBeDefined();
    expect(stub.client.handleCallback).toHaveBeenCalled();
    expect(onSuccess).not.toHaveBeenCalled();

    await stub.resolveCallback("/account?tab=2");
    await waitFor(() => expect(onSuccess).toHaveBeenCalled());
    await flush();
    expect(onSuccess).toHaveBeenCalledTimes(1);
    expect(onSuccess).toHaveBeenCalledWith("/account?tab=2");
  });

  it("renders a status line by default while loading", () => {
    const stub = stubClient(LOADING);
    render(withProvider(stub.client, <Callback />));
    expect(screen.getByRole("status").textContent).toMatch(/Signing you in/);
  });

  it("renders errorElement(error) on failure, and never calls onSuccess", async () => {
    const stub = stubClient(LOADING);
    const onSuccess = vi.fn();
    render(<StrictMode>{withProvider(stub.client, <Callback errorElement={(e) => <p>failed: {e.code}</p>} onSuccess={onSuccess} />)}</StrictMode>);
    await stub.rejectCallback(new AuthError("state_mismatch", "no such login"));
    expect(await screen.findByText("failed: state_mismatch")).toBeDefined();
    expect(onSuccess).not.toHaveBeenCalled();
  });

  it("wraps a non-AuthError failure in an AuthError", async () => {
    const stub = stubClient(LOADING);
    const errors: AuthError[] = [];
    const errorElement = (error: AuthError) => {
      errors.push(error);
      return <p>failed</p>;
    };
    render(withProvider(stub.client, <Callback errorElement={errorElement} />));
    await stub.rejectCallback(new TypeError("boom"));
    await screen.findByText("failed");
    expect(errors.at(-1)).toBeInstanceOf(AuthError);
    expect(errors.at(-1)?.code).toBe("invalid_response");
  });

  it('renders the default error UI (role="alert") whose button starts a new login', async () => {
    const stub = stubClient(LOADING);
    render(withProvider(stub.client, <Callback />));
    await stub.rejectCallback(new AuthError("access_denied", "The IdP: access was denied."));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Sign-in was cancelled.");
    act(() => screen.getByRole("button", { name: "Try again" }).click());
    await waitFor(() => expect(stub.client.login).toHaveBeenCalledTimes(1));
  });

  it("Try again after a transient failure is a new login too: the failed callback's code is spent, and a restore would leave the page on this error", async () => {
    const stub = stubClient(LOADING);
    render(withProvider(stub.client, <Callback />));
    await stub.rejectCallback(new AuthError("network", "The token proxy could not be reached."));
    act(() => screen.getByRole("button", { name: "Try again" }).click());
    await waitFor(() => expect(stub.client.login).toHaveBeenCalledTimes(1));
    expect(stub.client.getAccessToken).not.toHaveBeenCalled();
  });

  it("navigates with the provider's navigate prop when there is no onSuccess", async () => {
    const stub = stubClient(LOADING);
    const navigate = vi.fn();
    render(withProvider(stub.client, <Callback />, navigate));
    await stub.resolveCallback("/orders");
    await waitFor(() => expect(navigate).toHaveBeenCalledWith("/orders"));
    expect(navigate).toHaveBeenCalledTimes(1);
  });

  it("by default navigates with history.replaceState and a popstate event", async () => {
    window.history.replaceState(null, "", "/callback?code=c&state=s");
    const lengthBefore = window.history.length;
    const popped: string[] = [];
    const onPopState = () => popped.push(window.location.pathname + window.location.search + window.location.hash);
    window.addEventListener("popstate", onPopState);
    try {
      const stub = stubClient(LOADING);
      render(withProvider(stub.client, <Callback />));
      await stub.resolveCallback("/account?tab=2#top");
      await waitFor(() => expect(popped).toEqual(["/account?tab=2#top"]));
      expect(window.history.length).toBe(lengthBefore);
    } finally {
      window.removeEventListener("popstate", onPopState);
    }
  });
});
