// Drives Debian's Chromium (never a downloaded browser) against the playground's three servers.
import { mkdirSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { startPlayground, type Playground } from "../../playground/start.js";

export const OUTPUT_DIR = new URL("./output/", import.meta.url);

/**
 * The bound of every wait in the e2e suite (polls, navigations, locators), in milliseconds.
 * Generous: on a loaded 2-core machine a sign-in can take seconds. Nothing asserts how fast.
 */
export const WAIT = { timeout: 15_000 } as const;

export const DESKTOP = { width: 1200, height: 900 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * The playground's servers and a browser for the test file that calls it, started before its
 * tests and stopped after; each test's browser contexts are closed after it, so that no page of
 * an earlier test refreshes a token while a later one counts requests. The getters are valid
 * inside tests and hooks.
 */
export function usePlayground(): { readonly playground: Playground; readonly browser: Browser; readonly idp: NonNullable<Playground["idp"]> } {
  let started: { playground: Playground; browser: Browser } | undefined;
  beforeAll(async () => {
    started = await start();
  });
  afterEach(async () => {
    // Once in many runs on a loaded machine, Chromium took over a minute to close a context whose
    // page sat on the IdP's sign-out page: that must not fail the test that used it. All contexts
    // close at once under one bound; one left open then is closed with the browser, after the file.
    let bound: ReturnType<typeof setTimeout> | undefined;
    const closing = Promise.all((started?.browser.contexts() ?? []).map((context) => context.close().catch(() => undefined)));
    const closed = await Promise.race([closing.then(() => true), new Promise<false>((resolve) => (bound = setTimeout(() => resolve(false), 20_000)))]);
    clearTimeout(bound);
    if (!closed) console.warn("e2e: a browser context did not close within 20 s; the browser closes it after this file");
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

/** A fresh browser profile whose locators and navigations all wait up to {@link WAIT}. */
export async function newContext(browser: Browser, viewport: { width: number; height: number } = DESKTOP): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(WAIT.timeout);
  context.setDefaultNavigationTimeout(WAIT.timeout);
  return context;
}

/** Waits until the page shows the IdP's sign-in form. */
export async function waitForIdp(page: Page, issuer: string): Promise<void> {
  await page.waitForURL((url) => url.origin === issuer, WAIT);
  await page.locator('input[name="login"]').waitFor({ state: "visible", ...WAIT });
}

/** Signs in at the local IdP's login and consent pages, as a person would. */
export async function signInAtIdp(page: Page, username = "ada"): Promise<void> {
  await page.locator('input[name="login"]').fill(username);
  await page.locator('input[name="password"]').fill("any password");
  await page.locator('button[type="submit"]').click();
  const consent = page.getByRole("button", { name: "Continue" });
  // The consent page appears on the first login of a session only.
  await Promise.race([
    consent.waitFor({ state: "visible", ...WAIT }).then(() => consent.click()),
    page.waitForURL((url) => !url.pathname.startsWith("/interaction/"), WAIT),
  ]);
}

/**
 * From a page that is on its way to the IdP (a guard, or a click on "Sign in"): signs in there,
 * then waits to be back on `returnTo` and signed in.
 */
export async function completeSignIn(page: Page, playground: Playground, returnTo: string): Promise<void> {
  await waitForIdp(page, playground.issuer);
  await signInAtIdp(page);
  await page.waitForURL(`${playground.appUrl}${returnTo}`, WAIT);
  await expect.poll(() => statusOf(page), WAIT).toBe("authenticated");
}

export async function statusOf(page: Page): Promise<string> {
  return (await page.getByTestId("status").textContent()) ?? "";
}

/** The event names in the page's event log, oldest first. */
export async function eventsOf(page: Page): Promise<string[]> {
  const names = await page.getByTestId("event-log").locator("li").evaluateAll((items) => items.map((item) => item.getAttribute("data-event") ?? ""));
  return names.reverse();
}

/** Everything a script on the page can read: web storage and non-HttpOnly cookies, as one JSON text. */
export async function scriptVisibleState(page: Page): Promise<string> {
  return page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }));
}

export interface VisibleState {
  local: Record<string, string>;
  session: Record<string, string>;
  cookie: string;
  /** Every web-storage key, and every property name inside the JSON values stored under them. */
  keys: string[];
  /** Every string inside the JSON values in web storage. */
  strings: string[];
}

/** {@link scriptVisibleState}, read apart: what a script could take and try elsewhere. */
export async function readScriptVisibleState(page: Page): Promise<VisibleState> {
  const { local, session, cookie } = JSON.parse(await scriptVisibleState(page)) as Pick<VisibleState, "local" | "session" | "cookie">;
  const keys = [...Object.keys(local), ...Object.keys(session)];
  const strings: string[] = [];
  for (const raw of [...Object.values(local), ...Object.values(session)]) {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      strings.push(raw);
      continue;
    }
    JSON.stringify(value, function (key: string, item: unknown) {
      if (key !== "" && !Array.isArray(this)) keys.push(key);
      if (typeof item === "string") strings.push(item);
      return item;
    });
  }
  return { local, session, cookie, keys, strings };
}

export interface PageRecord {
  /**
   * Every request the page made, in order (documents, scripts, styles, fonts, icons, fetches), as
   * origin and path: queries carry codes and ID tokens, which must not reach a test's output.
   */
  readonly requests: string[];
  /** Console errors, uncaught exceptions and failed requests (e.g. `net::ERR_ABORTED`), as text. */
  readonly problems: string[];
}

/** Records what `page` asks for and what goes wrong there, from now on. */
export function record(page: Page): PageRecord {
  const requests: string[] = [];
  const problems: string[] = [];
  page.on("request", (request) => requests.push(withoutQuery(request.url())));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()} (${withoutQuery(message.location().url)})`);
  });
  page.on("pageerror", (error) => problems.push(`exception: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`failed: ${request.method()} ${withoutQuery(request.url())} ${request.failure()?.errorText ?? ""}`));
  return { requests, problems };
}

function withoutQuery(href: string): string {
  if (!URL.canParse(href)) return href;
  const url = new URL(href);
  return url.protocol === "data:" ? "data:…" : url.origin + url.pathname;
}

/** A full-page screenshot in test/e2e/output/ (gitignored), for people to look at; or of one element (a card). */
export async function screenshot(target: Page | Locator, name: string): Promise<void> {
  const path = new URL(`${name}.png`, OUTPUT_DIR).pathname;
  await ("goto" in target ? target.screenshot({ path, fullPage: true }) : target.screenshot({ path }));
}

/** Content wider than the screen, and code labels (`.tag`) cut short, as text for the assertion. */
export function layoutFaults(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const faults: string[] = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth) faults.push(`page scrolls sideways: ${root.scrollWidth}px > ${root.clientWidth}px`);
    for (const tag of document.querySelectorAll<HTMLElement>(".tag, .pill")) {
      const box = tag.getBoundingClientRect();
      if (tag.scrollWidth > tag.clientWidth || box.right > root.clientWidth) faults.push(`cut off: ${tag.textContent ?? ""}`);
    }
    return faults;
  });
}
