// Drives Debian's Chromium (never a downloaded browser) against the playground's three servers.
import { mkdirSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { startPlayground, type Playground } from "../../playground/start.js";

export const OUTPUT_DIR = new URL("./output/", import.meta.url);

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * The playground's servers and a browser for the test file that calls it, started before its
 * tests and stopped after. The getters are valid inside tests and hooks.
 */
export function usePlayground(): { readonly playground: Playground; readonly browser: Browser; readonly idp: NonNullable<Playground["idp"]> } {
  let started: { playground: Playground; browser: Browser } | undefined;
  beforeAll(async () => {
    started = await start();
  });
  afterAll(async () => {
    await started?.browser.close();
    await started?.playground.close();
  });
  const get = () => {
    if (!started) throw new Error("the playground is not started yet");
    return started;
  };
  return {
    get playground() {
      return get().playground;
    },
    get browser() {
      return get().browser;
    },
    get idp() {
      const idp = get().playground.idp;
      if (!idp) throw new Error("the e2e suite needs the local IdP");
      return idp;
    },
  };
}

export async function start(): Promise<{ playground: Playground; browser: Browser }> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const playground = await startPlayground({ quiet: true });
  const browser = await launch().catch(async (error: unknown) => {
    await playground.close();
    throw error;
  });
  return { playground, browser };
}

/** Signs in at the local IdP's login and consent pages, as a person would. */
export async function signInAtIdp(page: Page, username = "ada"): Promise<void> {
  await page.locator('input[name="login"]').fill(username);
  await page.locator('input[name="password"]').fill("any password");
  await page.locator('button[type="submit"]').click();
  const consent = page.getByRole("button", { name: "Continue" });
  // The consent page appears on the first login of a session only.
  await Promise.race([
    consent.waitFor({ state: "visible" }).then(() => consent.click()),
    page.waitForURL((url) => !url.pathname.startsWith("/interaction/")),
  ]);
}

export async function statusOf(page: Page): Promise<string> {
  return (await page.getByTestId("status").textContent()) ?? "";
}

/** Everything a script on the page can read: web storage and non-HttpOnly cookies. */
export async function scriptVisibleState(page: Page): Promise<string> {
  return page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }));
}

export async function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1200, height: 900 } });
}
