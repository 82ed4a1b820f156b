import { describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { completeSignIn, newContext, statusOf, usePlayground, WAIT } from "./browser.js";

const env = usePlayground();
const idp = () => env.idp;

type Sso = { getAccessToken(): Promise<string> };
const tokenOf = (page: Page) => page.evaluate(() => (window as unknown as { __reactSso: Sso }).__reactSso.getAccessToken());

/** A browser with one signed-in tab and `count - 1` more tabs of the same app, each showing "/" signed in. */
async function tabs(count: number): Promise<{ context: BrowserContext; pages: Page[] }> {
  const context = await newContext(env.browser);
  const first = await context.newPage();
  await first.clock.install();
  await first.goto(`${env.playground.appUrl}/`);
  await first.getByTestId("sign-in").click();
  await completeSignIn(first, env.playground, "/");
  const pages = [first];
  for (let i = 1; i < count; i++) {
    const page = await context.newPage();
    await page.clock.install();
    await page.goto(`${env.playground.appUrl}/`);
    await expect.poll(() => statusOf(page), WAIT).toBe("authenticated");
    pages.push(page);
  }
  return { context, pages };
}

describe("tabs of the same app in Chromium", () => {
  it("three tabs with an expired access token asking at the same moment cause one refresh, and all get a working token", async () => {
    const { pages } = await tabs(3);
    idp().reset();
    // Three minutes later by every tab's clock (past the two-minute lifetime), without firing their timers.
    for (const page of pages) await page.clock.setSystemTime(Date.now() + 3 * 60_000);
    const tokens = await Promise.all(pages.map(tokenOf));
    expect(idp().stats().token.refresh_token).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    const me = await fetch(`${env.playground.appUrl}/api/me`, { headers: { Authorization: `Bearer ${tokens[0]}` } });
    expect(me.status).toBe(200);
  });

  it("ten times in a row, in cookie mode: one refresh and three working tokens every time", async () => {
    const { pages } = await tabs(3);
    for (let round = 1; round <= 10; round++) {
      idp().reset();
      // Another three minutes later by every tab's clock: the token of the round before has expired.
      for (const page of pages) await page.clock.setSystemTime(Date.now() + round * 3 * 60_000);
      const tokens = await Promise.all(pages.map(tokenOf));
      expect({ round, refreshes: idp().stats().token.refresh_token }).toEqual({ round, refreshes: 1 });
      expect({ round, distinct: new Set(tokens).size }).toEqual({ round, distinct: 1 });
      const me = await fetch(`${env.playground.appUrl}/api/me`, { headers: { Authorization: `Bearer ${tokens[0]}` } });
      expect({ round, status: me.status }).toEqual({ round, status: 200 });
    }
  });

  it("signing out in one tab signs the others out, without a reload", async () => {
    const { pages } = await tabs(3);
    const [first, ...others] = pages as [Page, ...Page[]];
    const loads = others.map((page) => {
      let count = 0;
      page.on("load", () => count++);
      return () => count;
    });
    await first.getByTestId("sign-out").click();
    for (const page of others) await expect.poll(() => statusOf(page), WAIT).toBe("unauthenticated");
    expect(loads.map((count) => count())).toEqual([0, 0]);
  });

  it("a tab hidden past the token's expiry refreshes when it is shown again, not before", async () => {
    const { pages } = await tabs(1);
    const page = pages[0] as Page;
    idp().reset();
    // The tab goes to the background and the machine sleeps: no timer runs while the clock jumps.
    await page.clock.pauseAt(Date.now() + 1000);
    await page.evaluate(() => {
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await page.clock.setSystemTime(Date.now() + 3 * 60_000);
    expect(idp().stats().token.refresh_token).toBe(0);
    await page.evaluate(() => {
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await expect.poll(() => idp().stats().token.refresh_token, WAIT).toBe(1);
    expect(await statusOf(page)).toBe("authenticated");
  });
});
