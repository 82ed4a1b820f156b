import { beforeEach, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { newContext, OUTPUT_DIR, scriptVisibleState, signInAtIdp, statusOf, usePlayground } from "./browser.js";

const env = usePlayground();
beforeEach(() => env.idp.reset());
const stats = () => env.idp.stats();

/** Signs in from a guarded page (the guard redirects) or from the home page's button. */
async function signedInPage(path: "/account" | "/"): Promise<Page> {
  const page = await (await newContext(env.browser)).newPage();
  await page.goto(`${env.playground.appUrl}${path}`);
  if (path === "/") await page.getByTestId("sign-in").click();
  await page.waitForURL((url) => url.origin === env.playground.issuer);
  await signInAtIdp(page);
  await page.waitForURL(`${env.playground.appUrl}${path}`);
  await expect.poll(() => statusOf(page)).toBe("authenticated");
  return page;
}

describe("the playground in Chromium", () => {
  it("signs in from a guarded page and lands back on it with the user's claims, with one code exchange", async () => {
    const page = await signedInPage("/account");
    await expect.poll(() => page.getByTestId("user-name").first().textContent()).toBe("User ada");
    expect(stats().token.authorization_code).toBe(1);
    expect(new URL(page.url()).search).toBe("");
    await page.goto(`${env.playground.appUrl}/`);
    await expect.poll(() => statusOf(page)).toBe("authenticated");
    await page.screenshot({ path: new URL("signed-in.png", OUTPUT_DIR).pathname, fullPage: true });
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
    await expect.poll(() => statusOf(page)).toBe("authenticated");
    await expect.poll(() => page.getByTestId("user-name").first().textContent()).toBe("User ada");
    expect(stats().token.refresh_token).toBe(refreshesBefore + 1);
    expect(stats().token.authorization_code).toBe(1);
  });

  it("refreshes the access token after it expires, and the API keeps working", async () => {
    const page = await (await newContext(env.browser)).newPage();
    await page.clock.install();
    await page.goto(`${env.playground.appUrl}/`);
    await page.getByTestId("sign-in").click();
    await signInAtIdp(page);
    await expect.poll(() => statusOf(page)).toBe("authenticated");
    await page.getByTestId("call-api").click();
    await expect.poll(() => page.getByTestId("api-result").textContent()).toContain("Hello from the protected API");
    const refreshesBefore = stats().token.refresh_token;

    // Three minutes later by the page's clock, past the two-minute lifetime.
    await page.clock.fastForward("03:00");
    await page.getByTestId("call-api").click();
    await expect.poll(() => stats().token.refresh_token).toBe(refreshesBefore + 1);
    await expect.poll(() => page.getByTestId("api-result").textContent()).toContain("Hello from the protected API");
  });

  it("signs out: revokes at the IdP, clears the session, and a reload stays signed out", async () => {
    const page = await signedInPage("/");
    await page.getByTestId("sign-out").click();
    await page.getByRole("button", { name: "Yes, sign me out" }).click();
    await page.waitForURL(`${env.playground.appUrl}/`);
    await expect.poll(() => statusOf(page)).toBe("unauthenticated");
    expect(stats().revocation).toBe(1);
    expect((await page.context().cookies()).filter((c) => c.name.startsWith("react-sso"))).toEqual([]);
    await page.reload();
    await expect.poll(() => statusOf(page)).toBe("unauthenticated");
  });

  it("shows the error UI for a cancelled login (access_denied)", async () => {
    const page = await (await newContext(env.browser)).newPage();
    await page.goto(`${env.playground.appUrl}/`);
    await page.getByTestId("sign-in").click();
    await page.getByRole("link", { name: /cancel/i }).click();
    const alert = page.getByRole("alert").first();
    await expect.poll(() => alert.textContent()).toContain("access_denied");
    expect(stats().token.total).toBe(0);
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
