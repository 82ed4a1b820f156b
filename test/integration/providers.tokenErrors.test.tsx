// Issue 8, "the quirks of the big providers": token endpoints that refuse with odd statuses and
// bodies, GitHub's plain OAuth 2.0, numbers sent as strings, and errors in the authorization
// response. Each against a stub that answers like the provider it names (test/support/stubProviders.ts),
// through the real token proxy on node:http and, for public clients, directly.
import { describe, expect, it } from "vitest";
import { AuthError } from "react-sso-kit";
import {
  APP_ORIGIN,
  CONFIDENTIAL,
  PUBLIC,
  auth0,
  entra,
  github,
  htmlPage,
  microsoftV1,
  rawBasicServer,
  standard,
  type StubClient,
} from "../support/stubProviders.js";
import { freshPage, renderApp, screen } from "./helpers.js";
import { answersFrom, failure, landOnCallback, observed, openPage, rejection, signIn, startLogin, success, withParam, useStubServers } from "./providerFlows.js";

const { provider, proxy } = useStubServers();

describe("token errors with non-standard statuses or bodies", () => {
  it("Auth0's 403 for a bad code, through the proxy: a final invalid_grant with the status and Auth0's description, relayed (not proxy_rejected)", async () => {
    const idp = await provider(auth0());
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret });
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid profile" };
    const callbackUrl = await idp.authorize(await startLogin(config));

    const { client, outcome } = await landOnCallback(withParam(callbackUrl, "code", "a-code-auth0-never-issued"), config);

    const error = failure(outcome);
    expect(error).toMatchObject({ code: "invalid_grant", status: 403, error: "invalid_grant", errorDescription: "Invalid authorization code" });
    expect(error.transient).toBe(false);
    expect(error.message).toContain("Invalid authorization code");
    expect(client.getSnapshot()).toMatchObject({ status: "error", user: null, error: { code: "invalid_grant" } });
    expect(idp.grants("authorization_code")).toHaveLength(1);
    const [answer] = answersFrom(backend.url);
    expect(answer?.status).toBe(403);
    expect(answer?.headers.has("x-react-sso-refused")).toBe(false);
  });

  it("Auth0's 403 for a bad code, for a public client without the proxy: the same final invalid_grant", async () => {
    const idp = await provider(auth0());
    const config = { authority: idp.issuer, clientId: PUBLIC.id, scope: "openid profile" };
    const callbackUrl = await idp.authorize(await startLogin(config));

    const { client, outcome } = await landOnCallback(withParam(callbackUrl, "code", "a-code-auth0-never-issued"), config);

    const error = failure(outcome);
    expect(error).toMatchObject({ code: "invalid_grant", status: 403, error: "invalid_grant", errorDescription: "Invalid authorization code" });
    expect(error.transient).toBe(false);
    expect(client.getSnapshot()).toMatchObject({ status: "error", user: null });
    const [answer] = answersFrom(idp.endpoint("token"));
    expect(answer?.status).toBe(403);
    expect(answer?.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
    expect(idp.grants("authorization_code")).toHaveLength(1);
  });

  it("an IdP's 403 unauthorized_client relayed by the proxy keeps the IdP's code and description, and does not send the user to check the proxy", async () => {
    const client: StubClient = { id: "webapp", secret: "the-real-secret" };
    const idp = await provider(rawBasicServer({ clients: [client] }));
    const backend = await proxy({ issuer: idp.issuer, clientId: client.id, clientSecret: "a-wrong-secret" });
    const config = { authority: idp.issuer, clientId: client.id, tokenProxy: backend.url, scope: "openid" };

    const { outcome, client: app } = await signIn(idp, config);

    const error = failure(outcome);
    expect(error).toMatchObject({ code: "unauthorized_client", status: 403, error: "unauthorized_client", errorDescription: "Client authentication failed" });
    expect(error.transient).toBe(false);
    expect(error.message).toContain("Client authentication failed");
    expect(error.message).not.toMatch(/allowedOrigins|tokenProxy/);
    expect(app.getSnapshot().error?.code).toBe("unauthorized_client");
    expect(idp.grants("authorization_code")).toHaveLength(1);
    expect(answersFrom(backend.url)[0]?.headers.has("x-react-sso-refused")).toBe(false);
  });

  // The proxy starts every login (its login step keeps the PKCE verifier), so its refusals come at login().
  it("the proxy's own refusal (a redirect URI it does not allow) is proxy_rejected, marked x-react-sso-refused, and reaches no IdP", async () => {
    const idp = await provider(standard());
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret, redirectUris: [`${APP_ORIGIN}/elsewhere`] });
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid" };

    const page = openPage(config);
    const error = await rejection(page.client.login());

    expect(error).toMatchObject({ code: "proxy_rejected", status: 400, error: "invalid_request" });
    expect(error.message).toContain("redirectUris");
    expect(observed.find((o) => o.url === backend.url)?.headers.get("x-react-sso-refused")).toBe("1");
    expect(page.opened).toEqual([]);
    expect(idp.count("authorize")).toBe(0);
    expect(idp.count("token")).toBe(0);
  });

  it("the proxy's refusal of an Origin it does not allow is proxy_rejected too, and reaches no IdP", async () => {
    const idp = await provider(standard());
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret, allowedOrigins: ["http://localhost:4000"] });
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid" };

    const error = await rejection(openPage(config).client.login());

    expect(error).toMatchObject({ code: "proxy_rejected", status: 403, error: "access_denied" });
    expect(observed.find((o) => o.url === backend.url)?.headers.get("x-react-sso-refused")).toBe("1");
    expect(idp.count("token")).toBe(0);
  });

  it("a refresh refused with 400 and an empty body ends the session through the proxy: final, with the status, and no retry", async () => {
    const idp = await provider(standard());
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret });
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid profile offline_access" };
    const { client, outcome } = await signIn(idp, config);
    success(outcome);
    idp.override(idp.profile.paths.token, (req) => (req.form.get("grant_type") === "refresh_token" ? { status: 400 } : undefined));

    const error = await rejection(client.getAccessToken({ forceRefresh: true }));

    expect(error).toMatchObject({ code: "session_expired", status: 400 });
    expect(error.transient).toBe(false);
    expect(error.cause).toBeInstanceOf(AuthError);
    expect((error.cause as AuthError).status).toBe(400);
    expect(client.getSnapshot()).toMatchObject({ status: "unauthenticated", user: null, error: { code: "session_expired" } });
    expect(idp.grants("refresh_token")).toHaveLength(1);
    // Final: the session is gone, so nothing is retried and nothing is sent again.
    expect((await rejection(client.getAccessToken())).code).toBe("login_required");
    expect(idp.grants("refresh_token")).toHaveLength(1);
  });

  it("a refresh refused with 400 and an empty body ends the session of a public client without the proxy: final, with the status", async () => {
    const idp = await provider(standard());
    const config = { authority: idp.issuer, clientId: PUBLIC.id, scope: "openid profile offline_access" };
    const { client, outcome } = await signIn(idp, config);
    success(outcome);
    idp.override(idp.profile.paths.token, (req) => (req.form.get("grant_type") === "refresh_token" ? { status: 400 } : undefined));

    const error = await rejection(client.getAccessToken({ forceRefresh: true }));

    expect(error).toMatchObject({ code: "session_expired", status: 400 });
    expect(error.transient).toBe(false);
    expect((error.cause as AuthError).code).toBe("invalid_response");
    expect(client.getSnapshot()).toMatchObject({ status: "unauthenticated", user: null, error: { code: "session_expired" } });
    expect((await rejection(client.getAccessToken())).code).toBe("login_required");
    expect(idp.grants("refresh_token")).toHaveLength(1);
  });

  it("an HTML error page (400) for the code exchange, through the proxy: a final failure that shows the status", async () => {
    const idp = await provider(standard());
    const backend = await proxy({ issuer: idp.issuer, clientId: CONFIDENTIAL.id, clientSecret: CONFIDENTIAL.secret });
    const config = { authority: idp.issuer, clientId: CONFIDENTIAL.id, tokenProxy: backend.url, scope: "openid" };
    idp.override(idp.profile.paths.token, () => htmlPage(400, "400 Bad Request"));

    const { client, outcome } = await signIn(idp, config);

    const error = failure(outcome);
    expect(error).toMatchObject({ code: "invalid_request", status: 400 });
    expect(error.transient).toBe(false);
    expect(error.message).toContain("HTTP 400");
    expect(client.getSnapshot()).toMatchObject({ status: "error", user: null, error: { code: "invalid_request" } });
    expect(answersFrom(backend.url)[0]?.headers.has("x-react-sso-refused")).toBe(false);
    expect(idp.hits(idp.profile.paths.token)).toBe(1);
  });

  it("an HTML error page (400) for the code exchange of a public client without the proxy: a final invalid_response that shows the status", async () => {
    const idp = await provider(standard());
    const config = { authority: idp.issuer, clientId: PUBLIC.id, scope: "openid" };
    idp.override(idp.profile.paths.token, () => htmlPage(400, "400 Bad Request"));

    const { client, outcome } = await signIn(idp, config);

    const error = failure(outcome);
    expect(error).toMatchObject({ code: "invalid_response", status: 400 });
    expect(error.transient).toBe(false);
    expect(error.message).toContain("HTTP 400");
    expect(client.getSnapshot()).toMatchObject({ status: "error", user: null });
    expect(idp.hits(idp.profile.paths.token)).toBe(1);
  });
});

describe("GitHub (plain OAuth 2.0: endpoints in the browser, tokenEndpoint in the proxy)", () => {
  const APP: StubClient = { id: "Ov23liGitHubApp", secret: "0123456789abcdef0123456789abcdef01234567" };

  async function setUp(options: { expiring?: boolean } = {}) {
    const idp = await provider(github({ clients: [APP], ...options }));
    const backend = await proxy({ tokenEndpoint: idp.endpoint("token"), clientId: APP.id, clientSecret: APP.secret, clientAuthentication: "client_secret_post" });
    const config = { authority: idp.origin, clientId: APP.id, endpoints: { authorization: idp.endpoint("authorize") }, tokenProxy: backend.url, scope: "read:user user:email" };
    return { idp, backend, config };
  }

  it("answers a bad code with 200 OK and bad_verification_code: a final error with GitHub's code and description, never a session", async () => {
    const { idp, backend, config } = await setUp();
    const callbackUrl = await idp.authorize(await startLogin(config));

    const { client, outcome } = await landOnCallback(withParam(callbackUrl, "code", "an-expired-code"), config);

    const error = failure(outcome);
    expect(error).toMatchObject({ code: "idp_error", error: "bad_verification_code", errorDescription: "The code passed is incorrect or expired.", status: 400 });
    expect(error.transient).toBe(false);
    expect(error.message).toContain("The code passed is incorrect or expired.");
    expect(client.getSnapshot()).toMatchObject({ status: "error", user: null, error: { code: "idp_error" } });
    expect((await rejection(client.getAccessToken())).code).toBe("login_required");
    expect(idp.grants("authorization_code")).toHaveLength(1);
    expect(answersFrom(backend.url)[0]?.headers.has("x-react-sso-refused")).toBe(false);
  });

  it("signs in although GitHub answers form-encoded by default: the proxy asks for JSON, and no discovery request is made", async () => {
    const { idp, config } = await setUp();

    const { client, outcome } = await signIn(idp, config);

    success(outcome);
    expect(client.getSnapshot()).toMatchObject({ status: "authenticated", user: { sub: undefined } });
    expect(await client.getAccessToken()).toBe(idp.issued.access[0]);
    const [exchange] = idp.grants("authorization_code");
    expect(exchange?.headers.accept).toContain("application/json");
    expect(exchange?.form.get("client_secret")).toBe(APP.secret);
    expect(idp.requests.filter((r) => r.path.includes("/.well-known/"))).toEqual([]);
    // The stub is GitHub: asked without Accept: application/json, it answers form-encoded (with 200 for an error).
    const plain = await fetch(idp.endpoint("token"), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `client_id=${APP.id}&client_secret=${APP.secret ?? ""}&code=unknown`,
    });
    expect(plain.status).toBe(200);
    expect(plain.headers.get("content-type")).toContain("application/x-www-form-urlencoded");
    expect(new URLSearchParams(await plain.text()).get("error")).toBe("bad_verification_code");
  });

  it("a GitHub App's expiring user token refreshes through the proxy, and a refused refresh (200 bad_refresh_token) ends the session", async () => {
    const { idp, config } = await setUp({ expiring: true });
    const { client, outcome } = await signIn(idp, config);
    success(outcome);

    const refreshed = await client.getAccessToken({ forceRefresh: true });
    expect(refreshed).toBe(idp.issued.access[1]);
    expect(idp.grants("refresh_token")).toHaveLength(1);

    idp.override(idp.profile.paths.token, (req) => (req.form.get("grant_type") === "refresh_token" ? idp.profile.refuse("invalid_refresh") : undefined));
    const error = await rejection(client.getAccessToken({ forceRefresh: true }));
    expect(error).toMatchObject({ code: "session_expired", status: 400, error: "bad_refresh_token" });
    expect(error.transient).toBe(false);
    expect(client.getSnapshot()).toMatchObject({ status: "unauthenticated", user: null });
    expect(idp.grants("refresh_token")).toHaveLength(2);
  });
});

describe("expires_in as a numeric string (older Microsoft endpoints) and token_type bearer", () => {
  const APP: StubClient = { id: "legacy-app", secret: "legacy-app-secret-0123456789" };

  async function viaProxy(expiresInText: string) {
    const idp = await provider(microsoftV1({ clients: [APP], expiresInText }));
    const backend = await proxy({ tokenEndpoint: idp.endpoint("token"), clientId: APP.id, clientSecret: APP.secret });
    const config = { authority: idp.origin, clientId: APP.id, endpoints: { authorization: idp.endpoint("authorize") }, tokenProxy: backend.url, scope: "User.Read" };
    return { idp, backend, config };
  }

  async function direct(expiresInText: string) {
    const idp = await provider(microsoftV1({ clients: [PUBLIC], expiresInText }));
    const config = { authority: idp.origin, clientId: PUBLIC.id, endpoints: { authorization: idp.endpoint("authorize"), token: idp.endpoint("token") }, scope: "User.Read" };
    return { idp, config };
  }

  it('through the proxy, "3599" is accepted and the expiry computed from it', async () => {
    const { idp, backend, config } = await viaProxy("3599");
    const before = Date.now();
    const { client, outcome, events } = await signIn(idp, config);
    const after = Date.now();

    success(outcome);
    const signedIn = events.find((e) => e.type === "signedIn");
    const expiresAt = signedIn?.type === "signedIn" ? signedIn.payload.expiresAt : undefined;
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3599_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 3599_000);
    expect(JSON.parse(answersFrom(backend.url)[0]?.body ?? "{}")).toMatchObject({ expires_in: 3599, token_type: "bearer" });
    expect(await client.getAccessToken()).toBe(idp.issued.access[0]);
    expect(idp.grants("refresh_token")).toHaveLength(0);
  });

  it("through the proxy, a non-numeric expires_in is treated as absent: no expiry, never NaN, and no refresh for it", async () => {
    const { idp, backend, config } = await viaProxy("soon");

    const { client, outcome, events } = await signIn(idp, config);

    success(outcome);
    const signedIn = events.find((e) => e.type === "signedIn");
    expect(signedIn?.type === "signedIn" && signedIn.payload).toMatchObject({ expiresAt: undefined });
    const answers = answersFrom(backend.url);
    expect(answers).toHaveLength(1);
    expect(JSON.parse(answers[0]?.body ?? "")).not.toHaveProperty("expires_in");
    expect(await client.getAccessToken()).toBe(idp.issued.access[0]);
    expect(idp.grants("refresh_token")).toHaveLength(0);
  });

  it('without the proxy, "3599" is accepted and the expiry computed from it', async () => {
    const { idp, config } = await direct("3599");
    const before = Date.now();
    const { client, outcome, events } = await signIn(idp, config);
    const after = Date.now();

    success(outcome);
    const signedIn = events.find((e) => e.type === "signedIn");
    const expiresAt = signedIn?.type === "signedIn" ? signedIn.payload.expiresAt : undefined;
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3599_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 3599_000);
    expect(await client.getAccessToken()).toBe(idp.issued.access[0]);
  });

  it("without the proxy, a non-numeric expires_in fails the sign-in as invalid_response (oauth4webapi), never a session expiring at NaN", async () => {
    const { idp, config } = await direct("soon");

    const { client, outcome } = await signIn(idp, config);

    const error = failure(outcome);
    expect(error.code).toBe("invalid_response");
    expect(error.message).toContain("expires_in");
    expect(client.getSnapshot()).toMatchObject({ status: "error", user: null });
    expect(idp.grants("authorization_code")).toHaveLength(1);
  });
});

describe("an error in the authorization response", () => {
  it("Entra's AADSTS error with its description is shown as text, final: no token request and no new login", async () => {
    const idp = await provider(entra({ clients: [PUBLIC] }));
    const config = { authority: idp.issuer, clientId: PUBLIC.id, scope: "openid profile", entraMultiTenant: true };
    const description =
      "AADSTS50011: The redirect URI 'http://localhost:3000/callback' specified in the request does not match the redirect URIs configured for the application 'spa'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more.";
    const authorizationUrl = await startLogin(config);
    idp.authorizationError = { error: "invalid_request", error_description: description };
    const callbackUrl = await idp.authorize(authorizationUrl);
    expect(callbackUrl).toContain("error_description=AADSTS50011%3A+The+redirect+URI");

    await freshPage(callbackUrl);
    const { client, opened } = openPage(config);
    renderApp(client);

    const alert = await screen.findByRole("alert");
    expect(alert.getAttribute("data-react-sso-error")).toBe("invalid_request");
    expect(alert.textContent).toContain(description);
    const { error } = client.getSnapshot();
    expect(error).toMatchObject({ code: "invalid_request", error: "invalid_request", errorDescription: description });
    expect(error?.transient).toBe(false);
    expect(client.getSnapshot().status).toBe("error");
    expect(opened).toEqual([]);
    expect(idp.count("token")).toBe(0);
    expect(window.location.href).toBe(`${APP_ORIGIN}/callback`);
  });
});
