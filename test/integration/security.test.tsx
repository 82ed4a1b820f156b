// Issue 10 against real identity providers: a logout really ends the grant at the IdP (in both
// of the proxy's modes), and a key the IdP rotates seconds after a first login signs the next one.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTokenProxy, toNodeHandler, type TokenProxyOptions } from "react-sso-kit/server";
import { CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, getStats, loginAtIdp, REDIRECT_URI } from "../support/idpControl.js";
import { startOidcServer, WEB_CLIENT, type OidcServer } from "../support/oidcServer.js";
import { cookieJar, freshPage, issuer, makeClient, proxyUrl, resetWorld, startLoginAt } from "./helpers.js";

const APP_ORIGIN = "http://localhost:3000";
const servers: Server[] = [];

/** The real token proxy on 127.0.0.1, for options the shared one does not have. */
async function proxyWith(options: Partial<TokenProxyOptions>): Promise<string> {
  const handle = toNodeHandler(
    createTokenProxy({
      issuer: issuer(),
      clientId: CONFIDENTIAL_CLIENT_ID,
      clientSecret: CONFIDENTIAL_CLIENT_SECRET,
      allowedOrigins: [APP_ORIGIN],
      redirectUris: [REDIRECT_URI],
      cookie: { secrets: ["security-test-cookie-secret-0123456789abcdef"] },
      ...options,
    }),
  );
  const server = createServer((req, res) => void handle(req, res));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/token`;
}

beforeEach(resetWorld);
afterEach(async () => {
  await resetWorld();
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
});

/** Signs in through a guarded page and the IdP's login form, and completes the callback. */
async function signIn(overrides: Parameters<typeof makeClient>[0]) {
  const callbackUrl = await loginAtIdp(await startLoginAt("/account", overrides), { username: "ada" });
  await freshPage(callbackUrl);
  const page = makeClient(overrides);
  await page.client.handleCallback();
  return page;
}

/** A refresh sent straight to the IdP, as whoever holds a copy of the refresh token would. */
async function refreshAtIdp(refreshToken: string): Promise<{ status: number; error: unknown }> {
  const response = await fetch(`${issuer()}/token`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Authorization: `Basic ${Buffer.from(`${encodeURIComponent(CONFIDENTIAL_CLIENT_ID)}:${encodeURIComponent(CONFIDENTIAL_CLIENT_SECRET)}`).toString("base64")}`,
    },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }).toString(),
  });
  return { status: response.status, error: ((await response.json()) as { error?: unknown }).error };
}

describe("a logout ends the grant at the IdP", () => {
  it("in passthrough mode: the proxy revokes the refresh token the browser hands it, which the IdP refuses afterwards", async () => {
    const tokenProxy = await proxyWith({ refreshToken: "passthrough" });
    const overrides = { clientId: CONFIDENTIAL_CLIENT_ID, tokenProxy, storage: "session" as const };
    const { client } = await signIn(overrides);
    const stored = Object.entries(sessionStorage).find(([key]) => key.startsWith("react-sso.session:"))?.[1];
    const refreshToken = (JSON.parse(stored ?? "{}") as { refreshToken?: string }).refreshToken as string;
    expect(refreshToken).toBeTruthy();
    const errors: string[] = [];
    client.on("error", ({ error }) => errors.push(error.message));

    await client.logout();
    expect((await getStats(issuer())).revocation).toBe(1);
    expect(errors).toEqual([]);
    expect(await refreshAtIdp(refreshToken)).toEqual({ status: 400, error: "invalid_grant" });
  });

  it("in cookie mode: a copy of the cookie from before the logout refreshes no more", async () => {
    const overrides = { clientId: CONFIDENTIAL_CLIENT_ID, tokenProxy: proxyUrl() };
    const { client } = await signIn(overrides);
    const copy = [...cookieJar].map(([name, value]) => `${name}=${value}`).join("; ");
    await client.logout();
    expect((await getStats(issuer())).revocation).toBe(1);
    expect(cookieJar.has("react-sso-rt")).toBe(false);

    const replay = await fetch(proxyUrl(), {
      method: "POST",
      headers: { Origin: APP_ORIGIN, "X-React-SSO": "1", "Content-Type": "application/x-www-form-urlencoded", Cookie: copy },
      body: new URLSearchParams({ grant_type: "refresh_token", client_id: CONFIDENTIAL_CLIENT_ID }).toString(),
    });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe("invalid_grant");
  });
});

describe("a signing key the IdP rotates seconds after the first login", () => {
  let idp: OidcServer;
  beforeEach(async () => {
    idp = await startOidcServer();
  });
  afterEach(() => idp.close());

  it("signs the next login: the proxy fetches the JWKS again at once for the unknown kid", async () => {
    const tokenProxy = await proxyWith({ issuer: idp.issuer, clientId: WEB_CLIENT.id, clientSecret: WEB_CLIENT.secret });
    const overrides = { authority: idp.issuer, clientId: WEB_CLIENT.id, tokenProxy, scope: "openid profile" };
    await signIn(overrides);
    expect(idp.counts().jwks).toBe(1);

    await idp.rotateKeys();
    await resetWorld();
    const { client } = await signIn(overrides);
    expect(client.getSnapshot()).toMatchObject({ status: "authenticated", user: { sub: "ada" } });
    expect(idp.counts().jwks).toBe(2);
  });
});
