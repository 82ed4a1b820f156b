import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuthError } from "react-sso-kit";
import { API_SCOPES, CONFIDENTIAL_CLIENT_ID, getStats, loginAtIdp, POST_LOGOUT_REDIRECT_URI } from "../support/idpControl.js";
import { browserFetch, cookieJar, freshPage, issuer, makeClient, proxyUrl, renderApp, resetWorld, screen, startLoginAt, waitFor } from "./helpers.js";
import type { AuthConfig } from "react-sso-kit";

beforeEach(resetWorld);
afterEach(resetWorld);

async function signIn(overrides: Partial<AuthConfig> = {}) {
  const callbackUrl = await loginAtIdp(await startLoginAt("/account", overrides), { username: "ada" });
  await freshPage(callbackUrl);
  const page = makeClient(overrides);
  await page.client.handleCallback();
  return page;
}

/** Pretends the stored access token is about to expire, as it would after a while. */
function ageStoredSession(): void {
  const key = Object.keys(sessionStorage).find((k) => k.startsWith("react-sso.session:"));
  if (!key) throw new Error("no stored session");
  const session = JSON.parse(sessionStorage.getItem(key) as string) as { expiresAt: number };
  session.expiresAt = Date.now() + 10_000;
  sessionStorage.setItem(key, JSON.stringify(session));
}

describe("sessions", () => {
  it("signs in through the token proxy, which keeps the refresh token out of JavaScript", async () => {
    const overrides = { clientId: CONFIDENTIAL_CLIENT_ID, tokenProxy: proxyUrl() };
    const { client } = await signIn(overrides);
    expect(client.getSnapshot()).toMatchObject({ status: "authenticated", user: { sub: "ada" } });
    expect((await getStats(issuer())).token.authorization_code).toBe(1);
    // Nothing but a "there is a session" hint in web storage; the refresh token is in the cookie.
    const stored = JSON.stringify({ ...sessionStorage, ...localStorage });
    expect(stored).not.toContain(await client.getAccessToken());
    expect(Object.keys(sessionStorage).filter((k) => k.startsWith("react-sso.session:"))).toEqual([]);
    expect([...cookieJar.keys()]).toEqual(["react-sso-rt"]);

    // A reload restores the session with one request to the proxy.
    await freshPage("/account");
    const reloaded = makeClient(overrides).client;
    expect(reloaded.getSnapshot().status).toBe("loading");
    const token = await reloaded.getAccessToken();
    expect(reloaded.getSnapshot()).toMatchObject({ status: "authenticated", user: { sub: "ada", claims: { name: "User ada" } } });
    expect((await getStats(issuer())).token.refresh_token).toBe(1);
    const me = await fetch(new URL("/me", issuer()).href, { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);

    // Logout revokes at the IdP through the proxy and clears the cookie; the next reload makes no request.
    await reloaded.logout({ local: false });
    expect((await getStats(issuer())).revocation).toBe(1);
    expect(cookieJar.size).toBe(0);
    await freshPage("/account");
    const before = await getStats(issuer());
    expect(makeClient(overrides).client.getSnapshot().status).toBe("unauthenticated");
    expect(await getStats(issuer())).toEqual(before);
  });

  it("treats a missing proxy cookie on reload as signed out, not as an error", async () => {
    const overrides = { clientId: CONFIDENTIAL_CLIENT_ID, tokenProxy: proxyUrl() };
    await signIn(overrides);
    cookieJar.clear();
    await freshPage("/account");
    const { client } = makeClient(overrides);
    const statuses: string[] = [];
    client.subscribe(() => statuses.push(client.getSnapshot().status));
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: "login_required" });
    expect(statuses).toEqual(["unauthenticated"]);
    expect(client.getSnapshot().error).toBeNull();
  });

  it("restores the session on reload from the chosen storage, without any request", async () => {
    await signIn();
    const before = await getStats(issuer());
    await freshPage("/account");
    const { client } = makeClient();
    expect(client.getSnapshot()).toMatchObject({ status: "authenticated", user: { sub: "ada" } });
    await client.getAccessToken();
    expect(await getStats(issuer())).toEqual(before);
  });

  it("refreshes an expiring token once for concurrent callers, keeping the same user object", async () => {
    const { client } = await signIn();
    const user = client.getSnapshot().user;
    const token = await client.getAccessToken();
    ageStoredSession();
    await freshPage("/account");
    const reloaded = makeClient().client;
    const userBefore = reloaded.getSnapshot().user;
    const tokens = await Promise.all([reloaded.getAccessToken(), reloaded.getAccessToken(), reloaded.getAccessToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(token);
    expect((await getStats(issuer())).token.refresh_token).toBe(1);
    expect(reloaded.getSnapshot().user).toBe(userBefore);
    expect(user).not.toBeNull();
  });

  it("rejects getAccessToken with login_required when nobody is signed in, without redirecting", async () => {
    await freshPage("/");
    const { client, opened } = makeClient();
    const error = await client.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe("login_required");
    expect(opened).toEqual([]);
  });

  it("logs out: clears the session, revokes the refresh token and ends the IdP session", async () => {
    const { client, opened } = await signIn({ postLogoutRedirectUri: POST_LOGOUT_REDIRECT_URI });
    await client.logout();
    expect(client.getSnapshot()).toMatchObject({ status: "unauthenticated", user: null });
    expect(Object.keys(sessionStorage).filter((k) => k.startsWith("react-sso.session:"))).toEqual([]);
    expect((await getStats(issuer())).revocation).toBe(1);
    const endSession = new URL(opened.at(-1) as string);
    expect(endSession.pathname).toBe("/session/end");
    expect(endSession.searchParams.get("id_token_hint")).toBeTruthy();
    expect(endSession.searchParams.get("post_logout_redirect_uri")).toBe(POST_LOGOUT_REDIRECT_URI);
    await freshPage("/account");
    expect(makeClient().client.getSnapshot().status).toBe("unauthenticated");
  });

  it("works with a plain OAuth 2.0 server: explicit endpoints, no discovery, no ID token", async () => {
    const endpoints = { authorization: `${issuer()}/auth`, token: `${issuer()}/token` };
    const overrides = { scope: [API_SCOPES[0]], endpoints };
    const authUrl = await startLoginAt("/account", overrides);
    expect(new URL(authUrl).searchParams.has("nonce")).toBe(false);
    await freshPage(await loginAtIdp(authUrl));
    const { client } = makeClient(overrides);
    expect(await client.handleCallback()).toBe("/account");
    expect(client.getSnapshot()).toMatchObject({ status: "authenticated", user: { sub: undefined, claims: {}, scopes: ["api:read"] } });
    expect(await client.getAccessToken()).toBeTruthy();
    const stats = await getStats(issuer());
    expect(stats.discovery).toBe(0);
    expect(stats.token.authorization_code).toBe(1);
  });
});

describe("a logout wins over the guard that sees it", () => {
  const isAuthorization = (url: string) => new URL(url).pathname === "/auth";
  const loginTransactions = () => Object.keys(sessionStorage).filter((k) => k.startsWith("react-sso.tx."));
  // React renders here as in a browser, by its scheduler while the logout awaits the IdP, and not
  // when an act() scope ends: only so does the guard see the sign-out while the logout is under way.
  const react = globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean | undefined };
  let actEnvironment: boolean | undefined;
  beforeEach(() => {
    actEnvironment = react.IS_REACT_ACT_ENVIRONMENT;
    react.IS_REACT_ACT_ENVIRONMENT = false;
  });
  afterEach(() => {
    react.IS_REACT_ACT_ENVIRONMENT = actEnvironment;
  });

  /** The SDK's fetch, holding the sign-out's request (the revocation, or the proxy's logout) until `release()`. */
  function holdLogout() {
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const state = { held: false };
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const body = typeof init?.body === "string" ? init.body : "";
      if (body.includes("action=logout") || String(input).endsWith("/token/revocation")) {
        state.held = true;
        await gate;
      }
      return browserFetch(input, init);
    };
    return { fetch, state, release: () => release() };
  }

  /** Signs out from a page inside <RequireAuth>, letting the IdP answer only once the guard has rendered the sign-out. */
  async function signOutUnderGuard(overrides: Partial<AuthConfig>) {
    await signIn(overrides);
    await freshPage("/account");
    const hold = holdLogout();
    const { client, opened } = makeClient({ ...overrides, fetch: hold.fetch });
    renderApp(client);
    await screen.findByText("authenticated");

    const loggingOut = client.logout();
    await waitFor(() => expect(hold.state.held).toBe(true));
    // The guard sees "unauthenticated" (its effect has run) while the sign-out is still waiting for the IdP.
    await screen.findByText("guard waiting");
    hold.release();
    await loggingOut;
    return opened;
  }

  it("signing out from a page inside <RequireAuth> starts no login while the revocation is under way", async () => {
    const opened = await signOutUnderGuard({ postLogoutRedirectUri: POST_LOGOUT_REDIRECT_URI });
    expect(opened.map((url) => new URL(url).pathname)).toEqual(["/session/end"]);
    expect(loginTransactions()).toEqual([]);
    expect((await getStats(issuer())).revocation).toBe(1);
  });

  it("through the token proxy too, which clears its cookie", async () => {
    const opened = await signOutUnderGuard({ clientId: CONFIDENTIAL_CLIENT_ID, tokenProxy: proxyUrl(), postLogoutRedirectUri: POST_LOGOUT_REDIRECT_URI });
    expect(opened.map((url) => new URL(url).pathname)).toEqual(["/session/end"]);
    expect(loginTransactions()).toEqual([]);
    expect((await getStats(issuer())).revocation).toBe(1);
    // No login step reached the proxy either: it would have left its login cookie.
    expect([...cookieJar.keys()]).toEqual([]);
  });

  it("a login already waiting for discovery when the logout starts is abandoned", async () => {
    await freshPage("/");
    const { client, opened } = makeClient();
    await Promise.all([client.login(), client.logout()]);
    expect(opened.filter(isAuthorization)).toEqual([]);
    expect(loginTransactions()).toEqual([]);
    // Once the logout is over (here nowhere to go: no session, the IdP's end-session page opened), logins work again.
    await client.login();
    expect(opened.filter(isAuthorization)).toHaveLength(1);
  });
});
