// The browser half of the provider tests: pages of the app (a client per page load, as a real
// navigation would create), the sign-in as a user would do it (login(), the IdP's redirect, the
// callback page), and a record of every answer the browser received.
import { cleanup } from "@testing-library/react";
import { afterEach, beforeEach, expect } from "vitest";
import { AuthError, createAuthClient, type AuthClient, type AuthConfig, type AuthEvents } from "react-sso-kit";
import { REDIRECT_URI, serverPool, startBystander, startProvider, startTokenProxy, type ProviderProfile, type StubProvider } from "../support/stubProviders.js";
import { browserFetch, cookieJar, freshPage } from "./helpers.js";

/** One answer the browser received. */
export interface Observed {
  url: string;
  method: string;
  status: number;
  headers: Headers;
  body: string;
  /** The proxy's login step (action=login), which answers state, nonce and code_challenge. */
  loginStep: boolean;
}

/** Every answer the browser received since the last reset, in order. */
export const observed: Observed[] = [];

/** The browser's fetch (Origin header, cookie jar), recording what comes back. */
export const observingFetch: typeof fetch = async (input, init) => {
  const response = await browserFetch(input, init);
  observed.push({
    url: input instanceof Request ? input.url : String(input),
    method: init?.method ?? (input instanceof Request ? input.method : "GET"),
    status: response.status,
    headers: response.headers,
    body: await response.clone().text(),
    loginStep: typeof init?.body === "string" && new URLSearchParams(init.body).get("action") === "login",
  });
  return response;
};

/** The token answers from one URL (the token proxy, an IdP endpoint): not the proxy's login step, which starts a login. */
export const answersFrom = (url: string): Observed[] => observed.filter((o) => o.url === url && !o.loginStep);

export type PageConfig = Omit<AuthConfig, "redirectUri" | "openUrl" | "fetch"> & Partial<Pick<AuthConfig, "redirectUri">>;

export interface Page {
  client: AuthClient;
  /** URLs the client opened (login, logout), in order. */
  opened: string[];
  /** Events the client emitted, in order. */
  events: Array<{ [E in keyof AuthEvents]: { type: E; payload: AuthEvents[E] } }[keyof AuthEvents]>;
}

const pages: Page[] = [];

/** The app's client on the current page; its redirects are captured (jsdom cannot leave the page). */
export function openPage(config: PageConfig): Page {
  const opened: string[] = [];
  const client = createAuthClient({ redirectUri: REDIRECT_URI, ...config, openUrl: (url) => void opened.push(url), fetch: observingFetch });
  const page: Page = { client, opened, events: [] };
  for (const type of ["signedIn", "refreshed", "signedOut", "sessionExpired", "error"] as const) {
    client.on(type, (payload) => page.events.push({ type, payload } as Page["events"][number]));
  }
  pages.push(page);
  return page;
}

/** Between tests: every session ends (and with it every refresh timer), then storage, cookies and the address bar are cleared. */
export async function resetBrowser(): Promise<void> {
  for (const { client } of pages.splice(0)) {
    // A page whose channel a later page load closed cannot tell the other tabs any more; its timers are gone all the same.
    await client.logout({ local: true }).catch(() => undefined);
  }
  cleanup();
  observed.length = 0;
  cookieJar.clear();
  sessionStorage.clear();
  localStorage.clear();
  await freshPage("/");
}

/** A visit to a guarded page: login() sends the browser to the IdP. Returns the authorization URL. */
export async function startLogin(config: PageConfig, path = "/account"): Promise<string> {
  await freshPage(path);
  const { client, opened } = openPage(config);
  await client.login();
  expect(opened).toHaveLength(1);
  return opened[0] as string;
}

export type Outcome = { returnTo: string; error?: undefined } | { returnTo?: undefined; error: AuthError };

/** The IdP sends the browser back: a new page load of the callback URL, completed by the client. */
export async function landOnCallback(callbackUrl: string, config: PageConfig): Promise<Page & { outcome: Outcome }> {
  await freshPage(callbackUrl);
  const page = openPage(config);
  const outcome = await page.client.handleCallback().then(
    (returnTo): Outcome => ({ returnTo }),
    (error: unknown): Outcome => {
      if (!(error instanceof AuthError)) throw new Error(`expected an AuthError, got ${String(error)}`);
      return { error };
    },
  );
  return { ...page, outcome };
}

/** The whole sign-in: the guarded page, the IdP (as `idp.user`), the callback page. */
export async function signIn(idp: StubProvider, config: PageConfig): Promise<Page & { outcome: Outcome; callbackUrl: string }> {
  const callbackUrl = await idp.authorize(await startLogin(config));
  return { callbackUrl, ...(await landOnCallback(callbackUrl, config)) };
}

/** The failure of a sign-in that had to fail. */
export function failure(outcome: Outcome): AuthError {
  if (!outcome.error) throw new Error(`the sign-in succeeded (returnTo ${outcome.returnTo}) but had to fail`);
  return outcome.error;
}

/** The success of a sign-in that had to succeed, with its error shown when it did not. */
export function success(outcome: Outcome): string {
  if (outcome.error) throw new Error(`the sign-in failed: ${outcome.error.code} (HTTP ${String(outcome.error.status)}): ${outcome.error.message}`);
  return outcome.returnTo;
}

/** The rejection of a promise that had to reject with an AuthError. */
export async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AuthError)) throw new Error(`expected an AuthError, got ${String(error)}`);
  return error;
}

/** Replaces one parameter of a URL (a code the IdP no longer knows, a missing iss…); `null` removes it. */
export function withParam(url: string, name: string, value: string | null): string {
  const u = new URL(url);
  if (value === null) u.searchParams.delete(name);
  else u.searchParams.set(name, value);
  return u.href;
}

/** The `Max-Age` of the refresh-token cookie the proxy set in one answer, or undefined. */
export function cookieMaxAge(answer: Observed | undefined): number | undefined {
  const cookie = answer?.headers.getSetCookie().find((c) => c.startsWith("react-sso-rt="));
  const match = cookie === undefined ? null : /;\s*max-age=(\d+)/i.exec(cookie);
  return match ? Number(match[1]) : undefined;
}

/**
 * The servers a provider test file starts, owned by one pool: the browser's state is reset around
 * each test, and after it every server is closed with no request left unanswered (a connection
 * still open 5 s after close() fails the test too).
 */
export function useStubServers() {
  const pool = serverPool();
  beforeEach(resetBrowser);
  afterEach(async () => {
    await resetBrowser();
    for (const left of await pool.closeAll()) expect(left).toEqual({ name: left.name, inFlightAtClose: 0 });
  });
  return {
    provider: async (profile: ProviderProfile) => pool.add(await startProvider(profile)),
    proxy: async (options: Parameters<typeof startTokenProxy>[0]) => pool.add(await startTokenProxy(options)),
    bystander: async () => pool.add(await startBystander()),
  };
}
