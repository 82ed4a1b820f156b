// react-sso-kit/server at work in the playground: /api/me behind the resource-server guard,
// authFetch recovering from a token the API refuses, and the backend calling the reports service
// with a client-credentials token of its own.
import { createServer } from "node:net";
import { decodeJwt } from "jose";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startIdp, type TestIdp } from "../../playground/idp.js";
import { BACKEND_CLIENT_ID, PLAYGROUND_API, PLAYGROUND_API_SCOPE, PLAYGROUND_CLIENT_ID, startPlayground, type Playground } from "../../playground/start.js";
import { completeSignIn, DESKTOP, eventsOf, layoutFaults, newContext, PHONE, screenshot, usePlayground, WAIT } from "./browser.js";

const env = usePlayground();
const reports = () => {
  const service = env.playground.reports;
  if (!service) throw new Error("the e2e suite needs the reports service of the local IdP");
  return service;
};
beforeEach(() => {
  env.idp.reset();
  env.playground.backend.reset();
  reports().reset();
});

type Sso = { getAccessToken(): Promise<string> };
const tokenOf = (page: Page) => page.evaluate(() => (window as unknown as { __reactSso: Sso }).__reactSso.getAccessToken());

async function signedInHome(viewport: { width: number; height: number } = DESKTOP, browser: Browser = env.browser, playground: Playground = env.playground): Promise<Page> {
  const page = await (await newContext(browser, viewport)).newPage();
  await page.goto(`${playground.appUrl}/`);
  await page.getByTestId("sign-in").click();
  await completeSignIn(page, playground, "/");
  return page;
}

const me = (token?: string, appUrl = env.playground.appUrl) => fetch(`${appUrl}/api/me`, token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } });

/** The steps the retry card lists: each request's path and status, in order. */
async function stepsOf(page: Page, testId: string): Promise<string[]> {
  return page
    .getByTestId(testId)
    .locator("li")
    .evaluateAll((items) => items.map((item) => `${item.getAttribute("data-url") ?? ""} ${item.getAttribute("data-status") ?? ""}`));
}

/** Revokes the page's access token at the API and lets authFetch recover; resolves once the card shows the outcome. */
async function revokeAndRetry(page: Page): Promise<void> {
  await page.getByTestId("revoke-and-retry").click();
  await page.getByTestId("retry-result").waitFor({ state: "visible", ...WAIT });
}

async function callReports(page: Page): Promise<void> {
  await page.getByTestId("call-report").click();
  await page.getByTestId("report-summary").waitFor({ state: "visible", ...WAIT });
  await expect.poll(() => page.getByTestId("call-report").isEnabled(), WAIT).toBe(true);
}

describe("the server toolkit in the playground", () => {
  it("/api/me answers what the guard verified in the JWT access token, and 401 with WWW-Authenticate: Bearer without one", async () => {
    const page = await signedInHome();
    const token = await tokenOf(page);
    // RFC 8707: the login named the API, so the access token is a JWT for it.
    expect(decodeJwt(token)).toMatchObject({ aud: PLAYGROUND_API, client_id: PLAYGROUND_CLIENT_ID, sub: "ada", scope: PLAYGROUND_API_SCOPE });

    const answer = await me(token);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ sub: "ada", clientId: PLAYGROUND_CLIENT_ID, scopes: [PLAYGROUND_API_SCOPE], aud: PLAYGROUND_API });
    // Checked against the cached JWKS: further calls ask the IdP nothing.
    const before = env.idp.stats();
    for (let call = 0; call < 3; call++) expect((await me(token)).status).toBe(200);
    expect(env.idp.stats()).toEqual(before);

    const anonymous = await me();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe("Bearer");
    expect(anonymous.headers.get("cache-control")).toBe("no-store");

    const forged = await me(`${token.slice(0, -8)}AAAAAAAA`);
    expect(forged.status).toBe(401);
    expect(forged.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
    expect(env.playground.backend.stats().me).toEqual({ 200: 4, 401: 2 });

    await page.getByTestId("call-api").click();
    await expect.poll(() => page.getByTestId("api-result").textContent(), WAIT).toContain('"clientId": "playground"');
    expect(await page.getByTestId("api-result").textContent()).toContain("createTokenVerifier");
  });

  it("a revoked access token: authFetch gets 401 invalid_token, refreshes once, retries once, and the card shows both attempts and the refresh", async () => {
    const page = await signedInHome();
    const revokedToken = await tokenOf(page);
    env.idp.reset();
    env.playground.backend.reset();

    await revokeAndRetry(page);
    expect(await page.getByTestId("retry-result").getAttribute("data-ok")).toBe("true");
    expect(await stepsOf(page, "retry-steps")).toEqual(["/api/playground/revoke 200", "/api/me 401", "/auth/token 200", "/api/me 200"]);
    // Counted where they arrived: one refresh at the IdP, two calls to the API.
    expect(env.idp.stats().token).toMatchObject({ refresh_token: 1, total: 1 });
    expect(env.playground.backend.stats().me).toEqual({ 200: 1, 401: 1 });
    expect(await page.getByTestId("retry-summary").textContent()).toContain("2 calls to /api/me, 1 refresh");
    expect(await page.getByTestId("retry-steps").locator("li").nth(1).textContent()).toContain("invalid_token");
    await expect.poll(() => eventsOf(page), WAIT).toEqual(["signedIn", "refreshed"]);
    expect(await page.getByTestId("refresh-log").locator("li").count()).toBe(1);

    // The revoked token stays refused until it expires; the new one works.
    const refused = await me(revokedToken);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toBe('Bearer error="invalid_token", error_description="The access token was revoked."');
    const current = await tokenOf(page);
    expect(current).not.toBe(revokedToken);
    expect((await me(current)).status).toBe(200);
  });

  it("ten calls to /api/report make one client_credentials request at the IdP: the backend's client caches its token", async () => {
    const page = await signedInHome();
    env.idp.reset();

    await callReports(page);
    const summary = page.getByTestId("report-summary");
    expect(await summary.getAttribute("data-token-requests")).toBe("1");
    expect(await summary.textContent()).toContain("10 calls, 10 answered 200");
    expect(env.idp.stats().token).toMatchObject({ client_credentials: 1, total: 1 });
    expect(env.playground.backend.stats()).toMatchObject({ report: { 200: 10 }, serviceTokenRequests: 1 });
    expect(reports().stats()).toEqual({ 200: 10 });
    // The reports service saw the backend's identity, not the user's.
    const [status, ...body] = ((await page.getByTestId("report-result").textContent()) ?? "").split("\n");
    expect(status).toBe("HTTP 200");
    expect(JSON.parse(body.join("\n"))).toMatchObject({ calledBy: BACKEND_CLIENT_ID, scopes: ["reports:read"] });
    expect(await page.getByTestId("report-idp-requests").textContent()).toMatch(/react-sso POST http:\/\/127\.0\.0\.1:\d+\/token 200/);

    // Ten more: the cached token still has minutes to live.
    await callReports(page);
    expect(await summary.getAttribute("data-token-requests")).toBe("0");
    expect(await summary.textContent()).toContain("still cached");
    expect(env.idp.stats().token).toMatchObject({ client_credentials: 1, total: 1 });
    expect(reports().stats()).toEqual({ 200: 20 });
  });

  it("the reports service refuses the user's own token: it is for another audience", async () => {
    const page = await signedInHome();
    const answer = await fetch(`${reports().url}/v1/summary`, { headers: { Authorization: `Bearer ${await tokenOf(page)}` } });
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(reports().stats()).toEqual({ 401: 1 });
  });
});

describe("the server toolkit's cards at desktop and phone width", () => {
  for (const [name, viewport] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ] as const) {
    it(`fit a ${viewport.width}px wide screen, and are saved to test/e2e/output/`, async () => {
      const page = await signedInHome(viewport);
      await revokeAndRetry(page);
      await callReports(page);
      // The retry card lists its own run only, not the calls that came after it.
      expect(await stepsOf(page, "retry-steps")).toHaveLength(4);
      expect(await layoutFaults(page)).toEqual([]);
      await screenshot(page.getByTestId("retry-card"), `${name}-retry-card`);
      await screenshot(page.getByTestId("service-card"), `${name}-service-card`);
      await screenshot(page, `${name}-home-server-toolkit`);
    });
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

// An IdP the playground did not configure (as with SSO_ISSUER): it issues opaque access tokens for
// userinfo, registers no API and no backend client.
describe("with a real IdP (SSO_ISSUER) and no SSO_API_AUDIENCE", () => {
  let real: { idp: TestIdp; playground: Playground } | undefined;
  const get = () => {
    if (!real) throw new Error("not started");
    return real;
  };
  beforeAll(async () => {
    const port = await freePort();
    const origins = [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
    const secret = "another-idp-client-secret";
    const idp = await startIdp({
      clients: [
        {
          client_id: "someone-elses-idp-app",
          client_secret: secret,
          token_endpoint_auth_method: "client_secret_basic",
          redirect_uris: origins.map((origin) => `${origin}/callback`),
          post_logout_redirect_uris: origins.map((origin) => `${origin}/`),
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
        },
      ],
    });
    const playground = await startPlayground({ appPort: port, quiet: true, sso: { issuer: idp.issuer, clientId: "someone-elses-idp-app", clientSecret: secret } }).catch(async (error: unknown) => {
      await idp.close();
      throw error;
    });
    real = { idp, playground };
  });
  afterAll(async () => {
    await real?.playground.close();
    await real?.idp.close();
  });

  it("/api/me checks the token at the IdP's userinfo endpoint, and the toolkit's cards say what they need", async () => {
    const { playground } = get();
    expect(playground.reports).toBeUndefined();
    // The file's browser: usePlayground closes its contexts after each test.
    const page = await signedInHome(DESKTOP, env.browser, playground);
    const token = await tokenOf(page);
    const answer = await me(token, playground.appUrl);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ checkedBy: "the IdP's userinfo endpoint", sub: "ada" });
    const anonymous = await me(undefined, playground.appUrl);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe("Bearer");
    const refused = await me("not-a-token-the-idp-issued", playground.appUrl);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toContain('error="invalid_token"');

    expect(await page.getByTestId("revoke-and-retry").isDisabled()).toBe(true);
    expect(await page.getByTestId("retry-card").textContent()).toContain("SSO_API_AUDIENCE");
    expect(await page.getByTestId("call-report").isDisabled()).toBe(true);
    expect((await fetch(`${playground.appUrl}/api/report`)).status).toBe(501);
  });
});
