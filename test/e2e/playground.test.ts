import { beforeEach, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import {
  completeSignIn,
  DESKTOP,
  eventsOf,
  layoutFaults,
  newContext,
  PHONE,
  record,
  screenshot,
  readScriptVisibleState,
  scriptVisibleState,
  statusOf,
  usePlayground,
  WAIT,
  waitForIdp,
} from "./browser.js";

const env = usePlayground();
beforeEach(() => env.idp.reset());
const stats = () => env.idp.stats();

/** Signs in from a guarded page (the guard redirects) or from the home page's button. */
async function signedInPage(path: "/account" | "/", viewport = DESKTOP): Promise<Page> {
  const page = await (await newContext(env.browser, viewport)).newPage();
  await page.goto(`${env.playground.appUrl}${path}`);
  if (path === "/") await page.getByTestId("sign-in").click();
  await completeSignIn(page, env.playground, path);
  return page;
}

/** On the IdP's sign-out page: confirms, and waits to be back on the app's home page, signed out. */
async function confirmSignOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Yes, sign me out" }).click();
  await page.waitForURL(`${env.playground.appUrl}/`, WAIT);
  await expect.poll(() => statusOf(page), WAIT).toBe("unauthenticated");
}

/** Requests that left this machine: anything but the playground's loopback servers (and data: URLs). */
const offOrigin = (requests: readonly string[]) => requests.filter((url) => !/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(url) && !url.startsWith("data:"));

describe("the playground in Chromium", () => {
  it("signs in from a guarded page and lands back on it with the user's claims, with one code exchange", async () => {
    const page = await signedInPage("/account");
    await expect.poll(() => page.getByTestId("user-name").first().textContent(), WAIT).toBe("User ada");
    expect(stats().token.authorization_code).toBe(1);
    expect(new URL(page.url()).search).toBe("");
    await expect.poll(() => eventsOf(page), WAIT).toEqual(["signedIn"]);
  });

  it("a login costs the IdP one discovery (before the redirect) and one code exchange; a reload only the proxy's refresh", async () => {
    // The proxy has read its own discovery document by now (once per process); count a login alone.
    await (await signedInPage("/")).context().close();
    env.idp.reset();
    const page = await signedInPage("/");
    expect(stats()).toMatchObject({ discovery: 1, authorization: 1, token: { authorization_code: 1, total: 1 } });
    env.idp.reset();
    await page.reload();
    await expect.poll(() => statusOf(page), WAIT).toBe("authenticated");
    expect(stats()).toMatchObject({ discovery: 0, token: { refresh_token: 1, total: 1 } });
  });

  it("keeps every token away from script-readable storage", async () => {
    const page = await signedInPage("/");
    const token = await page.evaluate(() => (window as unknown as { __reactSso: { getAccessToken(): Promise<string> } }).__reactSso.getAccessToken());
    expect(token.length).toBeGreaterThan(10);
    const visible = await scriptVisibleState(page);
    expect(visible).not.toContain(token);
    expect(visible).not.toMatch(/eyJ[\w-]+\.[\w-]+\./); // no JWT (ID token) either
    expect(await page.evaluate(() => document.cookie)).toBe("");
    // The refresh token is in an HttpOnly cookie, sealed (the IdP's own cookies share the host, not the name).
    const cookies = (await page.context().cookies()).filter((c) => c.name.startsWith("react-sso"));
    expect(cookies.map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite }))).toEqual([
      { name: "react-sso-rt", httpOnly: true, sameSite: "Strict" },
    ]);
  });

  it("stays signed in across a reload through the proxy's cookie", async () => {
    const page = await signedInPage("/account");
    const refreshesBefore = stats().token.refresh_token;
    await page.reload();
    await expect.poll(() => statusOf(page), WAIT).toBe("authenticated");
    await expect.poll(() => page.getByTestId("user-name").first().textContent(), WAIT).toBe("User ada");
    expect(stats().token.refresh_token).toBe(refreshesBefore + 1);
    expect(stats().token.authorization_code).toBe(1);
  });

  it("refreshes the access token after it expires, and the API keeps working", async () => {
    const page = await (await newContext(env.browser)).newPage();
    await page.clock.install();
    await page.goto(`${env.playground.appUrl}/`);
    await page.getByTestId("sign-in").click();
    await completeSignIn(page, env.playground, "/");
    await page.getByTestId("call-api").click();
    await expect.poll(() => page.getByTestId("api-result").textContent(), WAIT).toContain("Hello from the protected API");
    const refreshesBefore = stats().token.refresh_token;

    // Three minutes later by the page's clock, past the two-minute lifetime.
    await page.clock.fastForward("03:00");
    await page.getByTestId("call-api").click();
    await expect.poll(() => stats().token.refresh_token, WAIT).toBe(refreshesBefore + 1);
    await expect.poll(() => page.getByTestId("api-result").textContent(), WAIT).toContain("Hello from the protected API");
  });

  it("signs out: revokes at the IdP, clears the session, and a reload stays signed out", async () => {
    const page = await signedInPage("/");
    await page.getByTestId("sign-out").click();
    await confirmSignOut(page);
    expect(stats().revocation).toBe(1);
    expect((await page.context().cookies()).filter((c) => c.name.startsWith("react-sso"))).toEqual([]);
    await page.reload();
    await expect.poll(() => statusOf(page), WAIT).toBe("unauthenticated");
  });

  // The guard on /account sees "unauthenticated" as soon as the sign-out starts: the client must start
  // no login until the page has left for the IdP, or the IdP (still signed in) would sign the user back in.
  it.each([0, 300, 1500])("Sign out on the guarded account page revokes, ends the IdP session, and starts no new login (%i ms on the proxy's logout)", async (latency) => {
    const page = await signedInPage("/account");
    if (latency > 0) {
      // A slow backend: the sign-out's POST to the proxy takes this long to leave the browser.
      await page.route("**/auth/token", async (route) => {
        if (route.request().postData()?.includes("action=logout")) await new Promise((resolve) => setTimeout(resolve, latency));
        await route.continue();
      });
    }
    const before = stats();
    await page.getByTestId("sign-out").click();
    await waitForLogoutPage(page);
    await confirmSignOut(page);
    const after = stats();
    expect(after.revocation).toBe(before.revocation + 1);
    expect(after.endSession).toBe(before.endSession + 1);
    expect(after.authorization).toBe(before.authorization);
    expect((await page.context().cookies()).filter((c) => c.name.startsWith("react-sso"))).toEqual([]);
  });

  it("Refresh now makes one refresh_token request, shown in the refresh log and the event log", async () => {
    const page = await signedInPage("/account");
    const before = stats().token.refresh_token;
    await page.getByTestId("refresh-now").click();
    await expect.poll(() => eventsOf(page), WAIT).toEqual(["signedIn", "refreshed"]);
    await expect.poll(() => page.getByTestId("refresh-now").isEnabled(), WAIT).toBe(true);
    expect(stats().token.refresh_token).toBe(before + 1);
    expect(await page.getByTestId("refresh-log").locator("li").count()).toBe(1);
    expect(await statusOf(page)).toBe("authenticated");
  });

  it("Sign out here only ends the session without visiting the IdP, which still knows the user", async () => {
    const page = await signedInPage("/account");
    const seen = record(page);
    const before = stats();
    await page.getByTestId("sign-out-local").click();
    await page.waitForURL(`${env.playground.appUrl}/`, WAIT);
    await expect.poll(() => statusOf(page), WAIT).toBe("unauthenticated");
    await expect.poll(() => eventsOf(page), WAIT).toEqual(["signedIn", "signedOut"]);
    expect(stats()).toEqual(before); // no end-session visit, no revocation, no new login
    expect(seen.requests.filter((url) => url.startsWith(env.playground.issuer))).toEqual([]);

    await page.reload();
    await expect.poll(() => statusOf(page), WAIT).toBe("unauthenticated");
    expect(stats().token.total).toBe(before.token.total);

    // The IdP session is still there: signing in again asks for no password.
    await page.getByTestId("sign-in").click();
    await expect.poll(() => statusOf(page), WAIT).toBe("authenticated");
    expect(stats().token.authorization_code).toBe(before.token.authorization_code + 1);
    expect(seen.requests.filter((url) => url.includes("/interaction/"))).toEqual([]);
  });

  it("logs sessionExpired (and error) when the IdP refuses a refresh, and the page says what the header says", async () => {
    const page = await signedInPage("/");
    env.idp.setFault({ token: "400-empty", times: 1 });
    await page.evaluate(() =>
      (window as unknown as { __reactSso: { getAccessToken(o: object): Promise<string> } }).__reactSso.getAccessToken({ forceRefresh: true }).catch(() => "refused"),
    );
    await expect.poll(() => statusOf(page), WAIT).toBe("unauthenticated");
    // The session is over everywhere, and the failure is reported like any other (an error event after signedOut).
    await expect.poll(() => eventsOf(page), WAIT).toEqual(["signedIn", "sessionExpired", "signedOut", "error"]);
    expect(await page.getByTestId("auth-error").textContent()).toContain("session_expired");
    const card = page.getByTestId("session-card");
    expect(await card.getAttribute("data-status")).toBe("unauthenticated");
    expect(await card.locator("h1").textContent()).toBe("You are signed out");
  });

  it("shows the error UI for a cancelled login (access_denied), and the home page agrees with the header", async () => {
    const page = await (await newContext(env.browser)).newPage();
    await page.goto(`${env.playground.appUrl}/`);
    await page.getByTestId("sign-in").click();
    await waitForIdp(page, env.playground.issuer);
    await page.getByRole("link", { name: /cancel/i }).click();
    const alert = page.getByRole("alert").first();
    await expect.poll(() => alert.textContent(), WAIT).toContain("access_denied");
    expect(stats().token.total).toBe(0);
    expect(await statusOf(page)).toBe("error");

    await page.getByRole("link", { name: "Back home" }).click();
    await page.waitForURL(`${env.playground.appUrl}/`, WAIT);
    const card = page.getByTestId("session-card");
    await expect.poll(() => card.getAttribute("data-status"), WAIT).toBe("error");
    expect(await statusOf(page)).toBe("error");
    expect(await card.locator("h1").textContent()).toBe("Sign-in cancelled");
    expect(await card.textContent()).not.toContain("signed out");
    expect(await eventsOf(page)).toEqual(["error"]);
  });

  it("the IdP's pages load nothing from off this machine, and signing in and out logs no error", async () => {
    const page = await (await newContext(env.browser)).newPage();
    const seen = record(page);
    await page.goto(`${env.playground.appUrl}/`);
    await page.getByTestId("sign-in").click();
    await completeSignIn(page, env.playground, "/");
    const idpPages = seen.requests.filter((url) => url.startsWith(`${env.playground.issuer}/interaction/`));
    expect(idpPages.length).toBe(4); // the login and consent pages, and their form posts
    // A missing favicon would be a console error too; the browser fetches it outside the page's requests.
    expect(seen.problems).toEqual([]);

    await page.getByTestId("sign-out").click();
    await waitForLogoutPage(page);
    await confirmSignOut(page);
    expect(offOrigin(seen.requests)).toEqual([]);
    expect(seen.problems.filter((problem) => !problem.startsWith("failed:"))).toEqual([]);
    for (const path of ["/favicon.ico", "/favicon.svg"]) {
      const icon = await fetch(`${env.playground.issuer}${path}`);
      expect([icon.status, icon.headers.get("content-type")]).toEqual([200, "image/svg+xml"]);
    }
  });

  // The sign-out POST to the proxy is read to its end before the page leaves for the IdP; otherwise
  // the navigation aborts it (net::ERR_ABORTED, a red line in DevTools).
  it("signing out aborts no request", async () => {
    const page = await signedInPage("/");
    const seen = record(page);
    await page.getByTestId("sign-out").click();
    await waitForLogoutPage(page);
    await confirmSignOut(page);
    expect(seen.problems).toEqual([]);
  });

  it("a code and everything page script can read, posted to the proxy from outside the browser, get no token; the browser then completes the same callback", async () => {
    // Signed in once (the IdP now has its session and the consent), then signed out here only: the
    // next login comes straight back from the IdP, with a fresh code.
    const page = await signedInPage("/");
    await page.evaluate(() => (window as unknown as { __reactSso: { logout(o: object): Promise<void> } }).__reactSso.logout({ local: true }));
    await expect.poll(() => statusOf(page), WAIT).toBe("unauthenticated");
    env.idp.reset();
    // Take the IdP's redirect back to the app without following it.
    let callback = "";
    const isAuthorize = (url: URL) => url.origin === env.playground.issuer && url.pathname === "/auth";
    await page.route(isAuthorize, async (route) => {
      const answer = await route.fetch({ maxRedirects: 0 });
      callback = answer.headers()["location"] ?? "";
      // A 204 keeps the browser on the app's page (no navigation), whose storage a script in it can read.
      await route.fulfill({ status: 204 });
    });
    await page.getByTestId("sign-in").click();
    await expect.poll(() => callback, WAIT).toMatch(new RegExp(`^${env.playground.appUrl}/callback\\?`));
    const url = new URL(callback);
    const code = url.searchParams.get("code") as string;
    const state = url.searchParams.get("state") as string;
    // Everything a script of the page can see: the callback's parameters, web storage, document.cookie.
    const visible = await readScriptVisibleState(page);
    expect(visible.cookie).toBe("");
    const storedValues = visible.strings;
    // No PKCE verifier in the browser: the proxy holds it.
    expect(JSON.stringify(visible.session)).not.toMatch(/verifier/);
    const base = { grant_type: "authorization_code", code, state, redirect_uri: `${env.playground.appUrl}/callback`, client_id: "playground" };
    const attempts = [base, ...storedValues.map((value) => ({ ...base, code_verifier: value })), { ...base, code_verifier: state }];
    const before = stats().token.total;
    for (const attempt of attempts) {
      const answer = await fetch(`${env.playground.appUrl}/auth/token`, {
        method: "POST",
        // From another machine, an Origin header is whatever the sender writes.
        headers: { Origin: env.playground.appUrl, "X-React-SSO": "1", "Content-Type": "application/x-www-form-urlencoded", ...(visible.cookie && { Cookie: visible.cookie }) },
        body: new URLSearchParams(attempt).toString(),
      });
      expect({ attempt: Object.keys(attempt).join(","), status: answer.status }).toEqual({ attempt: Object.keys(attempt).join(","), status: 400 });
      expect(answer.headers.getSetCookie()).toEqual([]);
    }
    expect(stats().token.total).toBe(before);

    // The user's own browser, with its HttpOnly login cookie, completes the very same callback.
    await page.unroute(isAuthorize);
    await page.goto(callback);
    await page.waitForURL(`${env.playground.appUrl}/`, WAIT);
    await expect.poll(() => statusOf(page), WAIT).toBe("authenticated");
    expect(stats().token.authorization_code).toBe(1);
    // And, in cookie mode, nothing a script can read refreshes a session: no refresh token, no verifier, anywhere in storage.
    const after = await readScriptVisibleState(page);
    expect(after.keys.filter((key) => /refresh_?token|verifier/i.test(key))).toEqual([]);
    expect(after.cookie).toBe("");
  });

  it("refuses a POST to the token proxy from a foreign origin", async () => {
    const page = await (await newContext(env.browser)).newPage();
    // A page on another origin (the IdP's) tries both kinds of cross-site request.
    await page.goto(`${env.playground.issuer}/.well-known/openid-configuration`);
    const outcome = await page.evaluate(async (proxy) => {
      const preflighted = await fetch(proxy, {
        method: "POST",
        credentials: "include",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-React-SSO": "1" },
        body: "grant_type=refresh_token",
      }).then(
        (r) => `status ${r.status}`,
        (e: Error) => e.name,
      );
      const simple = await fetch(proxy, { method: "POST", mode: "no-cors", credentials: "include", body: new URLSearchParams({ grant_type: "refresh_token" }) }).then(
        (r) => r.type,
        (e: Error) => e.name,
      );
      return { preflighted, simple };
    }, `${env.playground.appUrl}/auth/token`);
    // The preflight is refused, so the browser never sends the request.
    expect(outcome.preflighted).toBe("TypeError");
    expect(outcome.simple).toBe("opaque");
    expect(stats().token.total).toBe(0);
    // And what the proxy answers such a request, seen without a browser's CORS enforcement:
    const direct = await fetch(`${env.playground.appUrl}/auth/token`, {
      method: "POST",
      headers: { Origin: env.playground.issuer, "Content-Type": "application/x-www-form-urlencoded", "X-React-SSO": "1" },
      body: "grant_type=refresh_token",
    });
    expect(direct.status).toBe(403);
    expect(direct.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("the playground at desktop and phone width", () => {
  for (const [name, viewport] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ] as const) {
    it(`fits a ${viewport.width}px wide screen, and saves screenshots to test/e2e/output/`, async () => {
      const page = await (await newContext(env.browser, viewport)).newPage();
      await page.goto(`${env.playground.appUrl}/account`);
      await waitForIdp(page, env.playground.issuer);
      await screenshot(page, `${name}-idp-login`);
      await completeSignIn(page, env.playground, "/account");
      await page.getByTestId("refresh-now").click();
      await expect.poll(() => eventsOf(page), WAIT).toEqual(["signedIn", "refreshed"]);
      expect(await layoutFaults(page)).toEqual([]);
      await screenshot(page, `${name}-account`);

      await page.getByRole("link", { name: "Home", exact: true }).click();
      await page.getByTestId("call-api").click();
      await expect.poll(() => page.getByTestId("api-result").textContent(), WAIT).toContain("Hello from the protected API");
      expect(await layoutFaults(page)).toEqual([]);
      await screenshot(page, `${name}-home`);
    });
  }
});

async function waitForLogoutPage(page: Page): Promise<void> {
  await page.waitForURL((url) => url.origin === env.playground.issuer && url.pathname === "/session/end", WAIT);
}
