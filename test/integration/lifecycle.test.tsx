import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { render } from "@testing-library/react";
import { Profiler, StrictMode, type ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OAuthProvider, useAuth, useAuthFetch, type AuthClient, type AuthEvents } from "react-sso-kit";
import { getStats, loginAtIdp, PUBLIC_CLIENT_ID, resetIdp, setFault } from "../support/idpControl.js";
import { freshPage, issuer, makeClient, proxyUrl, resetWorld, startLoginAt, waitFor } from "./helpers.js";

beforeEach(resetWorld);
afterEach(resetWorld);

/** Signs in with the public client (session in sessionStorage, refresh token in it) and returns a reloaded page's client. */
async function signedIn(expiresInMs?: number): Promise<AuthClient> {
  await freshPage(await loginAtIdp(await startLoginAt("/account"), { username: "ada" }));
  await makeClient().client.handleCallback();
  if (expiresInMs !== undefined) {
    const key = Object.keys(sessionStorage).find((k) => k.startsWith("react-sso.session:")) as string;
    const session = JSON.parse(sessionStorage.getItem(key) as string) as { expiresAt: number };
    session.expiresAt = Date.now() + expiresInMs;
    sessionStorage.setItem(key, JSON.stringify(session));
  }
  await freshPage("/account");
  return makeClient().client;
}

function record<E extends keyof AuthEvents>(client: AuthClient, event: E): AuthEvents[E][] {
  const seen: AuthEvents[E][] = [];
  client.on(event, (payload) => seen.push(payload));
  return seen;
}

const refreshes = async () => (await getStats(issuer())).token.refresh_token;

describe("getAccessToken and the token lifecycle, against the real IdP", () => {
  it("makes exactly one refresh request for 50 concurrent calls on an expired token, and all get its token", async () => {
    const client = await signedIn(-1000);
    const tokens = await Promise.all(Array.from({ length: 50 }, () => client.getAccessToken()));
    expect(await refreshes()).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    const me = await fetch(`${issuer()}/me`, { headers: { Authorization: `Bearer ${tokens[0]}` } });
    expect(me.status).toBe(200);
  });

  it("returns the cached token without a request while it is valid beyond minValidity", async () => {
    const client = await signedIn(100_000);
    const first = await client.getAccessToken();
    expect(await client.getAccessToken({ minValidity: 60 })).toBe(first);
    expect(await refreshes()).toBe(0);
    // Asking for more validity than is left refreshes.
    expect(await client.getAccessToken({ minValidity: 120 })).not.toBe(first);
    expect(await refreshes()).toBe(1);
  });

  it("refreshes twice in a row with rotation, and the rotated-out refresh token is dead at the IdP", async () => {
    const client = await signedIn();
    const key = Object.keys(sessionStorage).find((k) => k.startsWith("react-sso.session:")) as string;
    const firstRefreshToken = (JSON.parse(sessionStorage.getItem(key) as string) as { refreshToken: string }).refreshToken;
    const a = await client.getAccessToken({ forceRefresh: true });
    const b = await client.getAccessToken({ forceRefresh: true });
    expect(a).not.toBe(b);
    expect(await refreshes()).toBe(2);
    expect(client.getSnapshot().status).toBe("authenticated");
    const reuse = await fetch(`${issuer()}/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: firstRefreshToken, client_id: PUBLIC_CLIENT_ID }).toString(),
    });
    expect(reuse.status).toBe(400);
  });

  it("ends the session cleanly when the refresh token was revoked: session_expired, events, storage cleared", async () => {
    const client = await signedIn();
    const key = Object.keys(sessionStorage).find((k) => k.startsWith("react-sso.session:")) as string;
    const { refreshToken } = JSON.parse(sessionStorage.getItem(key) as string) as { refreshToken: string };
    const revoke = await fetch(`${issuer()}/token/revocation`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: refreshToken, client_id: PUBLIC_CLIENT_ID }).toString(),
    });
    expect(revoke.status).toBe(200);
    const expiredEvents = record(client, "sessionExpired");
    const signedOut = record(client, "signedOut");

    await expect(client.getAccessToken({ forceRefresh: true })).rejects.toMatchObject({ code: "session_expired", status: 400, error: "invalid_grant" });
    expect(client.getSnapshot()).toMatchObject({ status: "unauthenticated", user: null, error: { code: "session_expired" } });
    expect(expiredEvents).toHaveLength(1);
    expect(signedOut).toHaveLength(1);
    expect(sessionStorage.getItem(key)).toBeNull();
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: "login_required" });
  });

  it("treats a 4xx without an OAuth body (HTML) as final too", async () => {
    const client = await signedIn(-1000);
    await setFault(issuer(), { token: "400-html", times: 1 });
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: "session_expired", status: 400 });
    expect(client.getSnapshot().status).toBe("unauthenticated");
  });

  it("keeps the session while the IdP is down, retries with backoff, and recovers when it is back", async () => {
    // Within the refresh leeway but still valid.
    const client = await signedIn(30_000);
    const before = await client.getAccessToken({ minValidity: 0 });
    const errors = record(client, "error");
    const refreshed = record(client, "refreshed");
    await setFault(issuer(), { token: "down" });

    // The caller still gets the valid token; nobody is signed out.
    expect(await client.getAccessToken()).toBe(before);
    expect(errors[0]?.error).toMatchObject({ code: "network" });
    // Later callers during the backoff get it too, without a request each.
    const attempted = await refreshes();
    for (let i = 0; i < 5; i++) expect(await client.getAccessToken()).toBe(before);
    expect(await refreshes()).toBe(attempted);
    expect(client.getSnapshot()).toMatchObject({ status: "authenticated", error: null });

    // The IdP comes back; the next backoff attempt succeeds by itself.
    await waitFor(async () => expect((await getStats(issuer())).token.refresh_token).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
    await resetIdp(issuer());
    await waitFor(() => expect(refreshed).toHaveLength(1), { timeout: 15_000 });
    expect(await client.getAccessToken()).not.toBe(before);
    expect(client.getSnapshot().status).toBe("authenticated");
  });

  it("honours Retry-After from a 503 before retrying", async () => {
    const client = await signedIn(30_000);
    await setFault(issuer(), { token: "503-json", retryAfter: 2, times: 1 });
    const errors = record(client, "error");
    const refreshed = record(client, "refreshed");
    const started = Date.now();
    await client.getAccessToken();
    expect(errors[0]?.error).toMatchObject({ code: "temporarily_unavailable", status: 503, retryAfter: 2, transient: true });
    await waitFor(() => expect(refreshed).toHaveLength(1), { timeout: 10_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(await refreshes()).toBe(2);
  });

  it("restores a session through the proxy once for concurrent callers on reload", async () => {
    const overrides = { clientId: "spa-confidential", tokenProxy: proxyUrl() };
    await freshPage(await loginAtIdp(await startLoginAt("/account", overrides)));
    await makeClient(overrides).client.handleCallback();
    await freshPage("/account");
    const { client } = makeClient(overrides);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => client.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(await refreshes()).toBe(1);
  });
});

describe("authFetch", () => {
  /** A resource server that rejects the tokens it was told are revoked, as RFC 6750 §3.1 says to. */
  async function api() {
    const rejected = new Set<string>();
    const seen: string[] = [];
    const server = createServer((req, res) => {
      const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      seen.push(token);
      if (rejected.has(token)) {
        res.writeHead(401, { "WWW-Authenticate": 'Bearer error="invalid_token"' }).end();
      } else {
        res.writeHead(200, { "Content-Type": "application/json" }).end('{"ok":true}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, rejected, seen, close: () => server.close() };
  }

  it("attaches the token, and on invalid_token refreshes once at the IdP and retries once", async () => {
    const client = await signedIn();
    const resource = await api();
    try {
      expect((await client.authFetch(resource.url)).status).toBe(200);
      const first = await client.getAccessToken();
      resource.rejected.add(first);
      const retried = await client.authFetch(resource.url, { method: "POST", body: "replayable" });
      expect(retried.status).toBe(200);
      expect(await refreshes()).toBe(1);
      expect(resource.seen).toEqual([first, first, await client.getAccessToken()]);
    } finally {
      resource.close();
    }
  });

  it("retries a Request input too, from a clone", async () => {
    const client = await signedIn();
    const resource = await api();
    try {
      resource.rejected.add(await client.getAccessToken());
      const response = await client.authFetch(new Request(resource.url, { method: "POST", body: "payload" }));
      expect(response.status).toBe(200);
      expect(resource.seen).toHaveLength(2);
      expect(await refreshes()).toBe(1);
    } finally {
      resource.close();
    }
  });

  it("does not retry a streamed body, which cannot be sent twice", async () => {
    const client = await signedIn();
    const resource = await api();
    try {
      resource.rejected.add(await client.getAccessToken());
      const body = new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode("once")), c.close()) });
      const response = await client.authFetch(resource.url, { method: "POST", body, duplex: "half" } as RequestInit);
      expect(response.status).toBe(401);
      expect(resource.seen).toHaveLength(1);
      expect(await refreshes()).toBe(0);
    } finally {
      resource.close();
    }
  });
});

describe("rendering", () => {
  it("re-renders no component on three refreshes that change no claim, among 100 reading different things", async () => {
    const client = await signedIn();
    const renders = new Map<string, number>();
    const count = (id: string) => renders.set(id, (renders.get(id) ?? 0) + 1);
    function Status({ id }: { id: string }) {
      count(id);
      return <span>{useAuth().status}</span>;
    }
    function Name({ id }: { id: string }) {
      count(id);
      return <span>{String(useAuth((a) => a.user?.claims.name))}</span>;
    }
    function Actions({ id }: { id: string }) {
      count(id);
      const getAccessToken = useAuth((a) => a.getAccessToken);
      const login = useAuth((a) => a.login);
      return <button onClick={() => void getAccessToken().then(() => login)}>go</button>;
    }
    function Fetcher({ id }: { id: string }) {
      count(id);
      useAuthFetch();
      return null;
    }
    const kinds = [Status, Name, Actions, Fetcher];
    const tree: ReactNode[] = Array.from({ length: 100 }, (_, i) => {
      const Kind = kinds[i % 4] as (p: { id: string }) => ReactNode;
      return <Kind key={i} id={`${Kind.name}-${i}`} />;
    });
    let commits = 0;
    render(
      <StrictMode>
        <OAuthProvider client={client}>
          <Profiler id="tree" onRender={() => commits++}>
            {tree}
          </Profiler>
        </OAuthProvider>
      </StrictMode>,
    );
    await waitFor(() => expect(renders.size).toBe(100));
    const before = new Map(renders);
    const commitsBefore = commits;
    for (let i = 0; i < 3; i++) await client.getAccessToken({ forceRefresh: true });
    expect(await refreshes()).toBe(3);
    expect([...renders].filter(([id, n]) => n !== before.get(id))).toEqual([]);
    expect(commits).toBe(commitsBefore);
  });
});
