// Issue 8, "the quirks of the big providers": what each provider needs to hand out a refresh token
// and to end a session, configured the way the README's provider notes say, against stubs that
// answer like those providers (test/support/stubProviders.ts) and the real token proxy.
import { describe, expect, it } from "vitest";
import {
  APP_ORIGIN,
  CONFIDENTIAL,
  auth0,
  cognito,
  google,
  okta,
  zitadel,
} from "../support/stubProviders.js";
import { freshPage } from "./helpers.js";
import { answersFrom, cookieMaxAge, failure, openPage, rejection, signIn, success, useStubServers } from "./providerFlows.js";

const { provider, proxy } = useStubServers();

const API = "https://api.example.com";

describe.each([
  { name: "Auth0", profile: auth0, scope: "openid profile", extraAuthorizeParams: { audience: API } },
  { name: "Okta", profile: okta, scope: "openid profile", extraAuthorizeParams: undefined },
  { name: "ZITADEL", profile: zitadel, scope: "openid profile urn:zitadel:iam:org:project:id:zitadel:aud", extraAuthorizeParams: undefined },
])("$name: a refresh token only with offline_access", ({ profile, scope, extraAuthorizeParams }) => {
  async function setUp(withOfflineAccess: boolean) {
    const idp = await provider(profile());
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret });
    const config = {
      authority: idp.issuer,
      clientId: CONFIDENTIAL.id,
      tokenProxy: backend.url,
      scope: withOfflineAccess ? `${scope} offline_access` : scope,
      ...(extraAuthorizeParams && { extraAuthorizeParams }),
    };
    return { idp, backend, config };
  }

  it("without offline_access: signed in, no refresh-token cookie, and forceRefresh has nothing to refresh with", async () => {
    const { idp, backend, config } = await setUp(false);

    const { client, outcome } = await signIn(idp, config);

    success(outcome);
    expect(client.getSnapshot().status).toBe("authenticated");
    expect(cookieMaxAge(answersFrom(backend.url)[0])).toBeUndefined();
    expect(await client.getAccessToken({ forceRefresh: true })).toBe(idp.issued.access[0]);
    expect(idp.grants("refresh_token")).toHaveLength(0);
  });

  it("with offline_access: the proxy keeps the rotating refresh token in its cookie and refreshes with it", async () => {
    const { idp, backend, config } = await setUp(true);

    const { client, outcome } = await signIn(idp, config);
    success(outcome);
    const first = idp.issued.refresh[0] as string;

    expect(await client.getAccessToken({ forceRefresh: true })).toBe(idp.issued.access[1]);
    expect(idp.grants("refresh_token").map((r) => r.form.get("refresh_token"))).toEqual([first]);
    expect(idp.isLive(first)).toBe(false);
    const [login, refresh] = answersFrom(backend.url);
    expect(cookieMaxAge(login)).toBeGreaterThan(0);
    expect(cookieMaxAge(refresh)).toBeGreaterThan(0);
    if (extraAuthorizeParams) expect(idp.calls("authorize")[0]?.url.searchParams.get("audience")).toBe(API);
  });
});

describe("Auth0's issuer ends with a slash: authority and the proxy's issuer must say so", () => {
  it("an authority without the slash fails at login() with a config error that shows the issuer to use", async () => {
    const idp = await provider(auth0());
    await freshPage("/account");
    const { client, opened } = openPage({ authority: idp.origin, clientId: CONFIDENTIAL.id, scope: "openid" });

    const error = await rejection(client.login());

    expect(error.code).toBe("config");
    expect(error.message).toContain(JSON.stringify(`${idp.origin}/`));
    expect(opened).toEqual([]);
  });

  it("a proxy issuer without the slash fails the sign-in with an error that shows the issuer to use", async () => {
    const idp = await provider(auth0());
    const backend = await proxy({ issuer: idp.origin, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret });
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid" };

    const error = failure((await signIn(idp, config)).outcome);

    expect(error.message).toContain(JSON.stringify(`${idp.origin}/`));
    expect(error.message).toContain('"issuer"');
    expect(idp.count("token")).toBe(0);
  });
});

describe("Google: access_type=offline and prompt=consent, no rotation, no end_session_endpoint", () => {
  async function setUp(extraAuthorizeParams?: Record<string, string>) {
    const idp = await provider(google());
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret });
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid email profile", ...(extraAuthorizeParams && { extraAuthorizeParams }) };
    return { idp, backend, config };
  }

  it("access_type=offline and prompt=consent reach Google, and the refresh token it never rotates stays in the proxy's cookie across refreshes", async () => {
    const { idp, backend, config } = await setUp({ access_type: "offline", prompt: "consent" });

    const { client, outcome } = await signIn(idp, config);
    success(outcome);
    const request = idp.calls("authorize")[0]?.url.searchParams;
    expect(request?.get("access_type")).toBe("offline");
    expect(request?.get("prompt")).toBe("consent");

    expect(await client.getAccessToken({ forceRefresh: true })).toBe(idp.issued.access[1]);
    expect(await client.getAccessToken({ forceRefresh: true })).toBe(idp.issued.access[2]);
    expect(idp.issued.refresh).toHaveLength(1);
    expect(idp.grants("refresh_token").map((r) => r.form.get("refresh_token"))).toEqual([idp.issued.refresh[0], idp.issued.refresh[0]]);
    const [login, ...refreshes] = answersFrom(backend.url);
    expect(cookieMaxAge(login)).toBeGreaterThan(0);
    // Nothing rotated: the cookie the browser holds stays as it is.
    expect(refreshes.map(cookieMaxAge)).toEqual([undefined, undefined]);
  });

  it("without access_type=offline Google issues no refresh token, so there is no cookie", async () => {
    const { idp, backend, config } = await setUp();

    const { outcome } = await signIn(idp, config);

    success(outcome);
    expect(idp.issued.refresh).toEqual([]);
    expect(cookieMaxAge(answersFrom(backend.url)[0])).toBeUndefined();
  });

  it("logout revokes the refresh token at Google's revocation endpoint and, without an end_session_endpoint, opens the app's returnTo", async () => {
    const { idp, config } = await setUp({ access_type: "offline", prompt: "consent" });
    const { client, opened, outcome } = await signIn(idp, config);
    success(outcome);

    await client.logout({ returnTo: "/signed-out" });

    expect(idp.calls("revocation").map((r) => r.form.get("token"))).toEqual([idp.issued.refresh[0]]);
    expect(opened).toEqual([`${APP_ORIGIN}/signed-out`]);
    expect(client.getSnapshot()).toMatchObject({ status: "unauthenticated", user: null });
  });
});

describe("Amazon Cognito logout: its /logout wants logout_uri, which extraLogoutParams sends", () => {
  it("signing out through Cognito's end_session_endpoint brings the user back to postLogoutRedirectUri", async () => {
    const idp = await provider(cognito());
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret });
    const config = {
      authority: idp.issuer,
      clientId: CONFIDENTIAL.id,
      tokenProxy: backend.url,
      scope: "openid email",
      postLogoutRedirectUri: `${APP_ORIGIN}/`,
      extraLogoutParams: { logout_uri: `${APP_ORIGIN}/` },
    };
    const { client, opened, outcome } = await signIn(idp, config);
    success(outcome);

    await client.logout();

    expect(idp.count("revocation")).toBe(1);
    const logoutUrl = opened.at(-1) ?? "";
    expect(logoutUrl.startsWith(idp.endpoint("endSession"))).toBe(true);
    const answer = await fetch(logoutUrl, { redirect: "manual" });
    await answer.body?.cancel();
    expect(answer.status).toBe(302);
    expect(answer.headers.get("location")).toBe(`${APP_ORIGIN}/`);
  });
});
