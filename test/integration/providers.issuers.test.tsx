// Issue 8, "the quirks of the big providers": how providers name themselves and find their
// endpoints. Microsoft Entra ID's multi-tenant issuer template, Keycloak's session_state and
// refresh_expires_in, RFC 9207's iss, and Django OAuth Toolkit's trailing slashes. Each against a
// stub that answers like the provider it names (test/support/stubProviders.ts).
import { describe, expect, it } from "vitest";
import {
  APP_ORIGIN,
  CONFIDENTIAL,
  COOKIE_SECRET,
  PUBLIC,
  REDIRECT_URI,
  auth0,
  djangoOAuthToolkit,
  entra,
  keycloak,
  standard,
} from "../support/stubProviders.js";
import { freshPage } from "./helpers.js";
import { answersFrom, cookieMaxAge, failure, landOnCallback, openPage, rejection, resetBrowser, signIn, startLogin, success, useStubServers } from "./providerFlows.js";

const { provider, proxy, bystander } = useStubServers();

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad";

describe("Microsoft Entra ID multi-tenant (…/common/v2.0, issuer …/{tenantid}/v2.0)", () => {
  it("the stub is Entra: discovery at <authority>/.well-known/openid-configuration names the {tenantid} template", async () => {
    const idp = await provider(entra());
    const document = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(idp.issuer).toBe(`${idp.origin}/common/v2.0`);
    expect(document.issuer).toBe(`${idp.origin}/{tenantid}/v2.0`);
  });

  it("with entraMultiTenant, a public client signs in, and the ID token's iss names the token's own tenant", async () => {
    const idp = await provider(entra({ clients: [PUBLIC] }));
    idp.user = { sub: "entra-user", claims: { tid: TENANT, name: "Grace Hopper" } };
    const config = { authority: idp.issuer, clientId: PUBLIC.id, scope: "openid profile", entraMultiTenant: true };

    const { client, outcome } = await signIn(idp, config);

    success(outcome);
    expect(client.getSnapshot()).toMatchObject({ status: "authenticated", user: { sub: "entra-user", claims: { tid: TENANT, iss: `${idp.origin}/${TENANT}/v2.0` } } });
    // Once on the page that started the login, once on the callback page.
    expect(idp.count("discovery")).toBe(2);
  });

  it("with entraMultiTenant, an ID token whose iss names another tenant than its tid is refused (issuer_mismatch)", async () => {
    const idp = await provider(entra({ clients: [PUBLIC] }));
    idp.user = { sub: "entra-user", claims: { tid: TENANT }, idToken: { iss: `${idp.origin}/${OTHER_TENANT}/v2.0` } };
    const config = { authority: idp.issuer, clientId: PUBLIC.id, scope: "openid", entraMultiTenant: true };

    const { client, outcome } = await signIn(idp, config);

    expect(failure(outcome).code).toBe("issuer_mismatch");
    expect(client.getSnapshot()).toMatchObject({ status: "error", user: null });
  });

  it("without entraMultiTenant, login() fails with a config error that names the option, and nothing is opened", async () => {
    const idp = await provider(entra({ clients: [PUBLIC] }));
    await freshPage("/account");
    const { client, opened } = openPage({ authority: idp.issuer, clientId: PUBLIC.id, scope: "openid" });

    const error = await rejection(client.login());

    expect(error.code).toBe("config");
    expect(error.message).toContain('"entraMultiTenant"');
    expect(error.message).toContain("{tenantid}");
    expect(opened).toEqual([]);
  });
});

describe("Entra multi-tenant through the proxy: its discovery accepts the {tenantid} template only with entraMultiTenant", () => {
  it("through the proxy with entraMultiTenant on both sides, a confidential client signs in (the proxy verifies the signed ID token against the template)", async () => {
    const idp = await provider(entra());
    idp.user = { sub: "entra-user", claims: { tid: TENANT } };
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret, entraMultiTenant: true });
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid profile", entraMultiTenant: true };

    const { client, outcome } = await signIn(idp, config);

    success(outcome);
    expect(client.getSnapshot()).toMatchObject({ status: "authenticated", user: { sub: "entra-user", claims: { tid: TENANT } } });
    expect(idp.count("jwks")).toBe(1);
  });

  it("through the proxy with entraMultiTenant, an ID token whose iss names another tenant is refused by the proxy's verification", async () => {
    const idp = await provider(entra());
    idp.user = { sub: "entra-user", claims: { tid: TENANT }, idToken: { iss: `${idp.origin}/${OTHER_TENANT}/v2.0` } };
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret, entraMultiTenant: true });
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid", entraMultiTenant: true };

    const { client, outcome } = await signIn(idp, config);

    const error = failure(outcome);
    expect(error.message).toContain("ID token");
    expect(idp.grants("authorization_code")).toHaveLength(1);
    expect(client.getSnapshot()).toMatchObject({ status: "error", user: null });
  });

  it("a proxy without entraMultiTenant refuses the template with an error that names the option", async () => {
    const idp = await provider(entra());
    idp.user = { sub: "entra-user", claims: { tid: TENANT } };
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret });
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid", entraMultiTenant: true };

    const { outcome } = await signIn(idp, config);

    const error = failure(outcome);
    expect(error.message).toContain("entraMultiTenant");
    expect(idp.count("token")).toBe(0);
  });
});

describe("Entra multi-tenant in the browser, an ID token without tid: refused, there is no tenant to name", () => {
  it("with entraMultiTenant, an ID token without a tid is refused, whatever its iss says", async () => {
    const idp = await provider(entra({ clients: [PUBLIC] }));
    // The template filled with what a missing tid turns into as a string.
    idp.user = { sub: "entra-user", idToken: { tid: undefined, iss: `${idp.origin}/undefined/v2.0` } };
    const config = { authority: idp.issuer, clientId: PUBLIC.id, scope: "openid", entraMultiTenant: true };

    const { client, outcome } = await signIn(idp, config);

    expect(failure(outcome).code).toBe("issuer_mismatch");
    expect(client.getSnapshot()).toMatchObject({ status: "error", user: null });
  });
});

describe("Keycloak", () => {
  async function setUp(overrides: Parameters<typeof keycloak>[0] = {}, cookieMaxAgeSeconds?: number) {
    const idp = await provider(keycloak(overrides));
    const backend = await proxy({
      issuer: idp.issuer,
      clientId: CONFIDENTIAL.id,
      clientSecret: CONFIDENTIAL.secret,
      cookie: { secrets: [COOKIE_SECRET], ...(cookieMaxAgeSeconds !== undefined && { maxAge: cookieMaxAgeSeconds }) },
    });
    return { idp, backend };
  }

  it("refresh_expires_in bounds the proxy's cookie (Max-Age), at sign-in and at every rotation", async () => {
    const { idp, backend } = await setUp({ ssoSessionIdle: 1800 });
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid profile" };

    const { client, outcome } = await signIn(idp, config);
    success(outcome);
    await client.getAccessToken({ forceRefresh: true });

    const [login, refresh] = answersFrom(backend.url);
    // The refresh token's own exp says the same, counted from a clock that may have ticked once since.
    for (const answer of [login, refresh]) {
      expect(cookieMaxAge(answer)).toBeGreaterThanOrEqual(1799);
      expect(cookieMaxAge(answer)).toBeLessThanOrEqual(1800);
    }
    expect(idp.grants("refresh_token")).toHaveLength(1);
  });

  it("an offline token (refresh_expires_in 0, no exp) keeps the configured cookie lifetime instead of expiring at once, and a reload restores the session", async () => {
    const { idp, backend } = await setUp({}, 86400);
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid offline_access" };

    const { outcome } = await signIn(idp, config);
    success(outcome);
    expect(JSON.parse(idp.grants("authorization_code")[0]?.reply?.body ?? "{}")).toMatchObject({ refresh_expires_in: 0 });
    expect(cookieMaxAge(answersFrom(backend.url)[0])).toBe(86400);

    await freshPage("/account");
    const reloaded = openPage(config);
    expect(await reloaded.client.getAccessToken()).toBe(idp.issued.access[1]);
    expect(reloaded.client.getSnapshot().status).toBe("authenticated");
  });

  it("session_state, iss, code and state leave the address bar after the callback; the app's own parameters stay", async () => {
    const { idp, backend } = await setUp();
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid" };
    const callbackUrl = await idp.authorize(await startLogin(config));
    const params = new URL(callbackUrl).searchParams;
    expect([...params.keys()].sort()).toEqual(["code", "iss", "session_state", "state"]);

    const { outcome } = await landOnCallback(`${callbackUrl}&lang=fr`, config);

    success(outcome);
    expect(window.location.href).toBe(`${REDIRECT_URI}?lang=fr`);
  });

  it("error, iss and state leave the address bar after a failed callback too", async () => {
    const { idp, backend } = await setUp();
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid" };
    const authorizationUrl = await startLogin(config);
    idp.authorizationError = { error: "access_denied", error_description: "User cancelled the login" };

    const { outcome } = await landOnCallback(await idp.authorize(authorizationUrl), config);

    expect(failure(outcome).code).toBe("access_denied");
    expect(window.location.href).toBe(REDIRECT_URI);
  });

  it("logout revokes the refresh token through the proxy and opens Keycloak's logout with id_token_hint, client_id and post_logout_redirect_uri", async () => {
    const { idp, backend } = await setUp();
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid", postLogoutRedirectUri: `${APP_ORIGIN}/` };
    const { client, opened, outcome } = await signIn(idp, config);
    success(outcome);
    const refreshToken = idp.issued.refresh[0] as string;

    await client.logout();

    expect(idp.calls("revocation").map((r) => r.form.get("token"))).toEqual([refreshToken]);
    expect(idp.isLive(refreshToken)).toBe(false);
    const logoutUrl = new URL(opened.at(-1) ?? "");
    expect(logoutUrl.origin + logoutUrl.pathname).toBe(idp.endpoint("endSession"));
    expect(logoutUrl.searchParams.get("client_id")).toBe(CONFIDENTIAL.id);
    expect(logoutUrl.searchParams.get("post_logout_redirect_uri")).toBe(`${APP_ORIGIN}/`);
    expect(logoutUrl.searchParams.get("id_token_hint")).toMatch(/^ey/);
  });
});

describe("RFC 9207: iss in the authorization response", () => {
  it("a server that neither sends nor advertises iss (Auth0): accepted", async () => {
    const idp = await provider(auth0({ clients: [PUBLIC] }));
    const config = { authority: idp.issuer, clientId: PUBLIC.id, scope: "openid" };

    const { client, callbackUrl, outcome } = await signIn(idp, config);

    expect(new URL(callbackUrl).searchParams.has("iss")).toBe(false);
    success(outcome);
    expect(client.getSnapshot().status).toBe("authenticated");
  });

  it("a server that advertises iss and omits it: refused (issuer_mismatch) before any token request", async () => {
    const idp = await provider(standard({ advertisesIss: true, sendsIss: false }));
    const config = { authority: idp.issuer, clientId: PUBLIC.id, scope: "openid" };

    const { client, outcome } = await signIn(idp, config);

    expect(failure(outcome).code).toBe("issuer_mismatch");
    expect(client.getSnapshot()).toMatchObject({ status: "error", user: null });
    expect(idp.count("token")).toBe(0);
  });

  it("Keycloak 23's error response without iss (keycloak#25584) is refused as issuer_mismatch too, not shown as the IdP's error", async () => {
    const idp = await provider(keycloak({ sendsIssOnError: false }));
    const config = { authority: idp.issuer, clientId: PUBLIC.id, scope: "openid" };
    const authorizationUrl = await startLogin(config);
    idp.authorizationError = { error: "login_required" };

    const { outcome } = await landOnCallback(await idp.authorize(authorizationUrl), config);

    expect(failure(outcome).code).toBe("issuer_mismatch");
    expect(idp.count("token")).toBe(0);
  });

  it("a server that advertises iss and sends it (Keycloak): accepted", async () => {
    const idp = await provider(keycloak({ clients: [PUBLIC] }));
    const config = { authority: idp.issuer, clientId: PUBLIC.id, scope: "openid" };

    const { callbackUrl, outcome } = await signIn(idp, config);

    expect(new URL(callbackUrl).searchParams.get("iss")).toBe(idp.issuer);
    success(outcome);
  });
});

describe("Django OAuth Toolkit (discovery only with a trailing slash, 301 without)", () => {
  const DISCOVERY = "/o/.well-known/openid-configuration";

  it("the proxy follows discovery's same-origin 301 and the browser's discovery works too: a confidential client signs in", async () => {
    const idp = await provider(djangoOAuthToolkit());
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret });
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid profile" };

    const { client, outcome } = await signIn(idp, config);

    success(outcome);
    expect(client.getSnapshot().status).toBe("authenticated");
    // The name OpenID Discovery gives, then the redirect's target: by the page that started the login,
    // by the callback page, and once by the proxy.
    expect(idp.hits(DISCOVERY)).toBe(3);
    expect(idp.hits(`${DISCOVERY}/`)).toBe(3);
    expect(idp.grants("authorization_code")).toHaveLength(1);
  });

  it("a public client's discovery in the browser follows the 301 as well", async () => {
    const idp = await provider(djangoOAuthToolkit());
    const config = { authority: idp.issuer, clientId: PUBLIC.id, scope: "openid" };

    const { outcome } = await signIn(idp, config);

    success(outcome);
    expect(idp.hits(DISCOVERY)).toBe(2);
    expect(idp.hits(`${DISCOVERY}/`)).toBe(2);
  });

  it("the proxy does not follow a discovery redirect to another origin: a 502 that names the URL it tried", async () => {
    const idp = await provider(djangoOAuthToolkit());
    const elsewhere = await bystander();
    idp.override(DISCOVERY, () => ({ status: 301, headers: { location: `${elsewhere.origin}${DISCOVERY}/` } }));
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret });
    // Explicit endpoints: only the proxy discovers.
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid", endpoints: { authorization: idp.endpoint("authorize") } };

    const { outcome } = await signIn(idp, config);

    const error = failure(outcome);
    expect(error.status).toBe(502);
    expect(error.message).toContain(`${idp.origin}${DISCOVERY}`);
    expect(answersFrom(backend.url)[0]?.status).toBe(502);
    expect(elsewhere.requests).toEqual([]);
    expect(idp.count("token")).toBe(0);
  });

  it("the proxy does not follow a token endpoint's redirect (301 to the trailing slash, 302 to another origin): nothing reaches the target", async () => {
    const idp = await provider(djangoOAuthToolkit());
    const elsewhere = await bystander();
    const withoutSlash = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret, tokenEndpoint: `${idp.origin}/o/token` });
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: withoutSlash.url, scope: "openid" };

    const first = failure((await signIn(idp, config)).outcome);
    expect(first.status).toBe(502);
    expect(idp.hits("/o/token")).toBe(1);
    expect(idp.hits("/o/token/")).toBe(0);

    await resetBrowser();
    idp.override("/o/token/", () => ({ status: 302, headers: { location: `${elsewhere.origin}/login?next=/o/token/` } }));
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret });
    const second = failure((await signIn(idp, { ...config, tokenProxy: backend.url })).outcome);
    expect(second.status).toBe(502);
    expect(idp.hits("/o/token/")).toBe(1);
    expect(elsewhere.requests).toEqual([]);
  });

  it("the proxy does not follow the revocation endpoint's 301 at logout, and still clears its cookie", async () => {
    const idp = await provider(djangoOAuthToolkit());
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret, revocationEndpoint: `${idp.origin}/o/revoke_token` });
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid" };
    const { client, outcome } = await signIn(idp, config);
    success(outcome);

    await client.logout();

    expect(idp.hits("/o/revoke_token")).toBe(1);
    expect(idp.hits("/o/revoke_token/")).toBe(0);
    expect(cookieMaxAge(answersFrom(backend.url).at(-1))).toBe(0);
  });
});

describe("revocation requests from the browser are never redirected", () => {
  it("a public client's logout does not follow the revocation endpoint's 307 to another origin with the refresh token", async () => {
    const idp = await provider(djangoOAuthToolkit());
    const elsewhere = await bystander();
    const config = { authority: idp.issuer, clientId: PUBLIC.id, scope: "openid" };
    const { client, outcome } = await signIn(idp, config);
    success(outcome);
    idp.override("/o/revoke_token/", () => ({ status: 307, headers: { location: `${elsewhere.origin}/collect` } }));

    await client.logout();

    expect(idp.hits("/o/revoke_token/")).toBe(1);
    expect(elsewhere.requests.map((r) => r.form.get("token"))).toEqual([]);
  });
});
