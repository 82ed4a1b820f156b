// A second real authorization server next to oidc-provider: @jmondi/oauth2-server, plain OAuth 2.0
// without discovery (so `endpoints` in the browser and `tokenEndpoint` at the proxy), whose Basic
// parsing does not URL-decode, with a client whose ID and secret contain "-" and ".". A full login
// through <RequireAuth>, <Callback> and the token proxy, a refresh with rotation, and the
// revocation at logout, all counted at the server.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTokenProxy, toNodeHandler } from "react-sso-kit/server";
import { JMONDI_CONFIDENTIAL, JMONDI_SCOPES, startJmondiServer, type JmondiServer } from "../support/jmondiServer.js";
import { cookieJar, freshPage, makeClient, renderApp, resetWorld, screen, waitFor } from "./helpers.js";

const APP_ORIGIN = "http://localhost:3000";
let jmondi: JmondiServer;
let proxyServer: Server;
let proxyUrl: string;

beforeAll(async () => {
  jmondi = await startJmondiServer({ appOrigins: [APP_ORIGIN] });
  const proxy = createTokenProxy({
    // No discovery: the proxy is told the endpoints.
    tokenEndpoint: jmondi.endpoints.token,
    revocationEndpoint: jmondi.endpoints.revoke,
    clientId: JMONDI_CONFIDENTIAL.id,
    clientSecret: JMONDI_CONFIDENTIAL.secret,
    allowedOrigins: [APP_ORIGIN],
    redirectUris: [`${APP_ORIGIN}/callback`],
    cookie: { secrets: ["jmondi-login-test-cookie-secret-0123456789"] },
  });
  const handle = toNodeHandler(proxy);
  proxyServer = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => proxyServer.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxyServer.address() as AddressInfo).port}/auth/token`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    proxyServer.close(() => resolve());
    proxyServer.closeAllConnections();
  });
  await jmondi.close();
});

beforeEach(async () => {
  await resetWorld();
  jmondi.resetStats();
});

const config = () => ({
  authority: jmondi.url,
  clientId: JMONDI_CONFIDENTIAL.id,
  redirectUri: `${APP_ORIGIN}/callback`,
  scope: [JMONDI_SCOPES[0], "offline_access"],
  endpoints: { authorization: jmondi.endpoints.authorize },
  tokenProxy: proxyUrl,
});

/** Visits the guarded page, follows the server's auto-approving authorize endpoint, and lands on the callback. */
async function signIn() {
  await freshPage("/account");
  const start = makeClient(config());
  renderApp(start.client);
  await waitFor(() => expect(start.opened).toHaveLength(1));
  const answer = await fetch(start.opened[0] as string, { redirect: "manual" });
  await answer.body?.cancel();
  const callback = answer.headers.get("location") ?? "";
  expect(callback.startsWith(`${APP_ORIGIN}/callback?`)).toBe(true);
  await freshPage(callback);
  const page = makeClient(config());
  renderApp(page.client);
  await screen.findByText("authenticated");
  return page;
}

describe("@jmondi/oauth2-server, through <RequireAuth>, <Callback> and the token proxy", () => {
  it("signs in with a client whose ID and secret contain - and . (Basic credentials sent unencoded where allowed)", async () => {
    const { client } = await signIn();
    expect(window.location.pathname).toBe("/account");
    expect(client.getSnapshot().user).toMatchObject({ sub: undefined, scopes: expect.arrayContaining([JMONDI_SCOPES[0]]) });
    expect(jmondi.stats()).toMatchObject({ authorize: 1, token: { authorization_code: 1 }, tokenErrors: 0 });
    // The refresh token stays in the proxy's cookie.
    expect([...cookieJar.keys()]).toEqual(["react-sso-rt"]);
  });

  it("refreshes with rotation through the proxy, twice in a row", async () => {
    const { client } = await signIn();
    const first = await client.getAccessToken();
    const second = await client.getAccessToken({ forceRefresh: true });
    const third = await client.getAccessToken({ forceRefresh: true });
    expect(new Set([first, second, third]).size).toBe(3);
    // Each refresh used the refresh token the previous one rotated in: none was refused.
    expect(jmondi.stats()).toMatchObject({ token: { refresh_token: 2 }, tokenErrors: 0 });
  });

  it("revokes the refresh token at logout: the old cookie refreshes no more", async () => {
    const { client } = await signIn();
    const cookieBefore = new Map(cookieJar);
    await client.logout();
    expect(jmondi.stats().revoke).toBe(1);
    expect(cookieJar.size).toBe(0);
    // A copy of the cookie from before the logout, replayed as the browser would send it, is refused at the server.
    const replay = await fetch(proxyUrl, {
      method: "POST",
      headers: {
        Origin: APP_ORIGIN,
        "X-React-SSO": "1",
        "Content-Type": "application/x-www-form-urlencoded",
        Cookie: [...cookieBefore].map(([name, value]) => `${name}=${value}`).join("; "),
      },
      body: new URLSearchParams({ grant_type: "refresh_token", client_id: JMONDI_CONFIDENTIAL.id }).toString(),
    });
    expect(replay.status).toBe(400);
    await replay.body?.cancel();
    expect(jmondi.stats().tokenErrors).toBe(1);
  });
});
