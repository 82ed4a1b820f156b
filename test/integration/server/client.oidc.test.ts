// @vitest-environment node
// The server-side OAuth client against a real oidc-provider: discovery, client credentials and
// its cache, a server-rendered login (authorization code with PKCE, ID token checked), refresh
// with rotation, revocation and introspection, and every failure, with requests counted at the
// server.
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AuthError, createOAuthClient, createToken, type OAuthClientOptions, type TokenSet } from "react-sso-kit/server";
import { loginAtIdp } from "../../support/idpControl.js";
import { createLeakCheck } from "../../support/leakCheck.js";
import { API_AUDIENCE, OPAQUE_AUDIENCE, SERVICE_CLIENT, SHORT_AUDIENCE, WEB_CLIENT, startOidcServer, type OidcServer } from "../../support/oidcServer.js";

let idp: OidcServer;
const leaks = createLeakCheck();
const lines: string[] = [];

const client = (options: Partial<OAuthClientOptions> = {}) =>
  createOAuthClient({ issuer: idp.issuer, clientId: SERVICE_CLIENT.id, clientSecret: SERVICE_CLIENT.secret, debug: (line) => lines.push(line), ...options });
const webClient = (options: Partial<OAuthClientOptions> = {}) => client({ clientId: WEB_CLIENT.id, clientSecret: WEB_CLIENT.secret, ...options });

function remember(token: TokenSet): TokenSet {
  leaks.secret(token.accessToken, token.refreshToken, token.idToken);
  return token;
}

async function failure(promise: Promise<unknown>): Promise<AuthError> {
  const err = await promise.then(
    () => {
      throw new Error("it succeeded");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthError);
  leaks.see(err);
  return err as AuthError;
}

beforeAll(async () => {
  idp = await startOidcServer();
  leaks.secret(SERVICE_CLIENT.secret, WEB_CLIENT.secret);
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

afterAll(async () => {
  leaks.see(...lines);
  await idp?.close();
  expect(leaks.seen).toBeGreaterThan(20);
  expect(leaks.leaks()).toEqual([]);
});

describe("client credentials", () => {
  it("returns a TokenSet for the resource, after one discovery", async () => {
    const oauth = client();
    idp.resetCounts();
    const token = remember(await oauth.clientCredentials({ scope: ["orders:read", "orders:write"], resource: API_AUDIENCE }));
    expect(token).toMatchObject({ tokenType: "bearer", scope: "orders:read orders:write", expiresAt: expect.any(Number) });
    expect((token.expiresAt as number) - Date.now()).toBeGreaterThan(290_000);
    expect(decodeJwt(token.accessToken)).toMatchObject({ aud: API_AUDIENCE, client_id: SERVICE_CLIENT.id, scope: "orders:read orders:write" });
    expect(token.refreshToken).toBeUndefined();
    remember(await oauth.clientCredentials({ scope: "orders:read", resource: API_AUDIENCE }));
    expect(idp.counts()).toEqual({ discovery: 1, token: 2, "token:client_credentials": 2 });
  });

  it("a wrong secret: invalid_client with the IdP's status, and the secret in no message", async () => {
    leaks.secret("not-the-secret+at:all");
    const err = await failure(client({ clientSecret: "not-the-secret+at:all" }).clientCredentials({ scope: "orders:read" }));
    expect(err).toMatchObject({ code: "invalid_client", error: "invalid_client", status: 401, transient: false });
  });

  it("a scope the client may not have: invalid_scope", async () => {
    const err = await failure(client().clientCredentials({ scope: "openid orders:delete" }));
    expect(err).toMatchObject({ code: "invalid_scope", status: 400 });
  });

  it("uses client_secret_post when discovery lists it and not client_secret_basic", async () => {
    const postOnly = await startOidcServer({ clientAuthMethods: ["client_secret_post"] });
    try {
      const sent: { authorization: string | null; body: string }[] = [];
      const oauth = createOAuthClient({
        issuer: postOnly.issuer,
        clientId: SERVICE_CLIENT.id,
        clientSecret: SERVICE_CLIENT.secret,
        fetch: (input, init) => {
          if (init?.method === "POST") sent.push({ authorization: new Headers(init.headers).get("authorization"), body: String(init.body) });
          return fetch(input, init);
        },
      });
      remember(await oauth.clientCredentials({ scope: "orders:read" }));
      expect(sent).toHaveLength(1);
      expect(sent[0]?.authorization).toBeNull();
      expect(Object.fromEntries(new URLSearchParams(sent[0]?.body))).toMatchObject({ client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret });
    } finally {
      await postOnly.close();
    }
  });
});

describe("getAccessToken", () => {
  it("50 concurrent callers share one token request, and later calls reuse the token", async () => {
    const oauth = client();
    await oauth.getAccessToken({ scope: "reports:read" }).catch(() => undefined);
    idp.resetCounts();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => oauth.getAccessToken({ scope: "orders:read", resource: API_AUDIENCE })));
    expect(new Set(tokens).size).toBe(1);
    expect(await oauth.getAccessToken({ scope: ["orders:read"], resource: API_AUDIENCE })).toBe(tokens[0]);
    leaks.secret(tokens[0]);
    expect(idp.counts()).toEqual({ token: 1, "token:client_credentials": 1 });
  });

  it("a token inside the minValidity window is replaced by a new one", async () => {
    const oauth = client();
    // The short API's tokens live 1 s: always within the default 60 s window.
    const first = await oauth.getAccessToken({ scope: "orders:read", resource: SHORT_AUDIENCE });
    idp.resetCounts();
    const second = await oauth.getAccessToken({ scope: "orders:read", resource: SHORT_AUDIENCE });
    leaks.secret(first, second);
    expect(second).not.toBe(first);
    expect(idp.counts()).toEqual({ token: 1, "token:client_credentials": 1 });
  });

  it("a failure is not cached: the next call asks again and succeeds", async () => {
    let fail = true;
    const oauth = client({ fetch: (input, init) => (fail && init?.method === "POST" ? Promise.reject(new TypeError("fetch failed")) : fetch(input, init)) });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => oauth.getAccessToken({ scope: "orders:read" })));
    expect(results.every((r) => r.status === "rejected" && (r.reason as AuthError).code === "network")).toBe(true);
    fail = false;
    idp.resetCounts();
    leaks.secret(await oauth.getAccessToken({ scope: "orders:read" }));
    expect(idp.counts()).toEqual({ token: 1, "token:client_credentials": 1 });
  });
});

describe("introspection and revocation", () => {
  it("introspect shows an active token; after revoke it is inactive", async () => {
    const oauth = client();
    const token = remember(await oauth.clientCredentials({ scope: "orders:read", resource: OPAQUE_AUDIENCE }));
    await expect(oauth.introspect(token.accessToken)).resolves.toMatchObject({ active: true, client_id: SERVICE_CLIENT.id, aud: OPAQUE_AUDIENCE, scope: "orders:read" });
    idp.resetCounts();
    await oauth.revoke(token.accessToken, "access_token");
    await expect(oauth.introspect(token.accessToken)).resolves.toEqual({ active: false });
    expect(idp.counts()).toEqual({ revocation: 1, introspection: 1 });
  });

  it("a wrong secret fails revocation and introspection with invalid_client", async () => {
    const oauth = client({ clientSecret: "wrong" });
    expect(await failure(oauth.revoke("some-token"))).toMatchObject({ code: "invalid_client", status: 401 });
    expect(await failure(oauth.introspect("some-token"))).toMatchObject({ code: "invalid_client", status: 401 });
  });
});

describe("a server-rendered login", () => {
  const pkce = () => {
    const verifier = randomBytes(32).toString("base64url");
    return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
  };

  /** Signs ada in at the IdP; with a nonce unless `withNonce` is false, for the API audience unless `resource` is null. */
  async function login({ withNonce = true, resource = API_AUDIENCE as string | null } = {}) {
    const oauth = webClient();
    const nonce = withNonce ? randomBytes(16).toString("base64url") : undefined;
    const { verifier, challenge } = pkce();
    const state = randomBytes(16).toString("base64url");
    const url = await oauth.authorizationUrl({
      redirectUri: WEB_CLIENT.redirectUri,
      scope: "openid offline_access orders:read",
      state,
      codeChallenge: challenge,
      ...(nonce ? { nonce } : {}),
      params: { prompt: "consent", ...(resource ? { resource } : {}) },
    });
    const callback = new URL(await loginAtIdp(url, { username: "ada" }));
    expect(callback.searchParams.get("state")).toBe(state);
    const code = callback.searchParams.get("code") as string;
    leaks.secret(code, verifier);
    return { oauth, code, verifier, nonce, iss: callback.searchParams.get("iss") ?? undefined };
  }

  it("authorizationUrl names everything the login needs", async () => {
    const url = new URL(await webClient().authorizationUrl({ redirectUri: WEB_CLIENT.redirectUri, state: "s", codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", scope: ["openid"], params: { login_hint: "ada" } }));
    expect(url.origin + url.pathname).toBe(idp.endpoints.authorization);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: "code",
      client_id: WEB_CLIENT.id,
      redirect_uri: WEB_CLIENT.redirectUri,
      scope: "openid",
      state: "s",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
      login_hint: "ada",
    });
  });

  it("authorizationCode returns tokens with a verified ID token; refresh rotates; revokeAll ends the grant", async () => {
    const { oauth, code, verifier, nonce, iss } = await login();
    idp.resetCounts();
    const tokens = remember(await oauth.authorizationCode({ code, redirectUri: WEB_CLIENT.redirectUri, codeVerifier: verifier, nonce, iss }));
    expect(tokens.idToken && decodeJwt(tokens.idToken)).toMatchObject({ sub: "ada", aud: WEB_CLIENT.id, nonce });
    expect(tokens.refreshToken).toEqual(expect.any(String));
    expect(decodeJwt(tokens.accessToken)).toMatchObject({ aud: API_AUDIENCE, sub: "ada" });

    const stored = createToken(JSON.parse(JSON.stringify(tokens)));
    const refreshed = remember(await oauth.refresh(stored));
    expect(refreshed.refreshToken).not.toBe(tokens.refreshToken);
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(await failure(oauth.refresh(tokens.refreshToken as string))).toMatchObject({ code: "invalid_grant", status: 400 });

    // oidc-provider cannot revoke a JWT access token; the refresh token goes first, and is revoked all the same.
    expect(await failure(oauth.revokeAll(refreshed))).toMatchObject({ code: "idp_error", error: "unsupported_token_type", status: 400 });
    expect(await failure(oauth.refresh(refreshed))).toMatchObject({ code: "invalid_grant", status: 400 });
    // One JWKS read serves the ID tokens of the exchange and of the refresh.
    expect(idp.counts()).toMatchObject({ "token:authorization_code": 1, "token:refresh_token": 3, revocation: 2, jwks: 1 });
  });

  it("revokeAll revokes an opaque access token and the refresh token", async () => {
    const { oauth, code, verifier, nonce } = await login({ withNonce: false, resource: null });
    const tokens = remember(await oauth.authorizationCode({ code, redirectUri: WEB_CLIENT.redirectUri, codeVerifier: verifier, nonce }));
    await expect(oauth.introspect(tokens.accessToken)).resolves.toMatchObject({ active: true, sub: "ada" });
    await oauth.revokeAll(tokens);
    await expect(oauth.introspect(tokens.accessToken)).resolves.toEqual({ active: false });
    await expect(oauth.introspect(tokens.refreshToken as string, "refresh_token")).resolves.toEqual({ active: false });
  });

  it("without a nonce, an ID token is still verified", async () => {
    const { oauth, code, verifier } = await login({ withNonce: false });
    const tokens = remember(await oauth.authorizationCode({ code, redirectUri: WEB_CLIENT.redirectUri, codeVerifier: verifier }));
    expect(tokens.idToken && decodeJwt(tokens.idToken)).toMatchObject({ sub: "ada", aud: WEB_CLIENT.id });
  });

  it("the same code twice: invalid_grant", async () => {
    const { oauth, code, verifier, nonce } = await login();
    remember(await oauth.authorizationCode({ code, redirectUri: WEB_CLIENT.redirectUri, codeVerifier: verifier, nonce }));
    expect(await failure(oauth.authorizationCode({ code, redirectUri: WEB_CLIENT.redirectUri, codeVerifier: verifier, nonce }))).toMatchObject({ code: "invalid_grant" });
  });

  it("a wrong PKCE verifier: invalid_grant", async () => {
    const { oauth, code, nonce } = await login();
    expect(await failure(oauth.authorizationCode({ code, redirectUri: WEB_CLIENT.redirectUri, codeVerifier: pkce().verifier, nonce }))).toMatchObject({ code: "invalid_grant", status: 400 });
  });

  it("an ID token with another nonce is refused, and its tokens are not returned", async () => {
    const { oauth, code, verifier } = await login();
    const err = await failure(oauth.authorizationCode({ code, redirectUri: WEB_CLIENT.redirectUri, codeVerifier: verifier, nonce: "another-nonce" }));
    expect(err).toMatchObject({ code: "invalid_id_token" });
    expect(err.message).toContain("nonce");
  });

  it("a callback iss that is not the issuer is refused before any token request", async () => {
    const { oauth, code, verifier, nonce } = await login();
    idp.resetCounts();
    const err = await failure(oauth.authorizationCode({ code, redirectUri: WEB_CLIENT.redirectUri, codeVerifier: verifier, nonce, iss: "https://evil.example.test" }));
    expect(err).toMatchObject({ code: "issuer_mismatch" });
    expect(idp.counts()).toEqual({});
  });
});

describe("failures before any request", () => {
  it("the password grant is off unless allowPasswordGrant is set", async () => {
    leaks.secret("hunter2-password");
    idp.resetCounts();
    const err = await failure(client().password({ username: "ada", password: "hunter2-password" }));
    expect(err).toMatchObject({ code: "config", message: expect.stringContaining("allowPasswordGrant") });
    expect(idp.counts()).toEqual({});
  });

  it.each([
    ["no issuer or endpoint", {}, '"issuer"'],
    ["a plain-http issuer", { issuer: "http://sso.example.com" }, '"issuer"'],
    ["a plain-http token endpoint", { tokenEndpoint: "http://sso.example.com/token" }, '"tokenEndpoint"'],
    ["no clientId", { issuer: "https://sso.example.com", clientId: "" }, '"clientId"'],
    ["an unknown clientAuthentication", { issuer: "https://sso.example.com", clientAuthentication: "private_key_jwt" }, '"clientAuthentication"'],
    ["a zero timeout", { issuer: "https://sso.example.com", timeoutMs: 0 }, '"timeoutMs"'],
  ])("%s: a config error naming the field", (_name, options, field) => {
    expect(() => createOAuthClient({ clientId: "c", ...options } as OAuthClientOptions)).toThrow(expect.objectContaining({ code: "config", message: expect.stringContaining(field) }));
  });

  it("an endpoint the server lacks is named", async () => {
    const oauth = createOAuthClient({ tokenEndpoint: idp.endpoints.token, clientId: SERVICE_CLIENT.id, clientSecret: SERVICE_CLIENT.secret });
    expect(await failure(oauth.revoke("t"))).toMatchObject({ code: "config", message: expect.stringContaining('"revocationEndpoint"') });
  });
});

describe("the IdP unreachable", () => {
  it("is a transient network error naming the endpoint, and discovery is retried on the next call", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await new Promise((resolve) => server.close(resolve));
    const oauth = client({ issuer });
    const before = lines.length;
    for (let i = 0; i < 2; i++) {
      const err = await failure(oauth.clientCredentials());
      expect(err).toMatchObject({ code: "network", transient: true, message: `The identity provider could not be reached (${issuer}/.well-known/openid-configuration).` });
    }
    expect(lines.slice(before)).toEqual([expect.stringMatching(/ GET .*openid-configuration failed \d+ms$/), expect.stringMatching(/ GET .*openid-configuration failed \d+ms$/)]);
  });

  it("a server that does not answer in time is a transient timeout", async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const tokenEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
    try {
      const err = await failure(createOAuthClient({ tokenEndpoint, clientId: "c", clientSecret: "s", timeoutMs: 200 }).clientCredentials());
      expect(err).toMatchObject({ code: "network", transient: true, message: expect.stringContaining("did not answer within 200 ms") });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("debug", () => {
  it("DEBUG=react-sso writes one line per request to stderr, with nothing secret", async () => {
    const stderr = vi.spyOn(console, "error").mockImplementation(() => undefined);
    vi.stubEnv("DEBUG", "react-sso");
    const oauth = createOAuthClient({ issuer: idp.issuer, clientId: SERVICE_CLIENT.id, clientSecret: SERVICE_CLIENT.secret });
    remember(await oauth.clientCredentials({ scope: "orders:read" }));
    const written = stderr.mock.calls.map((call) => String(call[0]));
    leaks.see(...written);
    expect(written.map((line) => line.replace(/\d+ms$/, "Nms"))).toEqual([
      `react-sso GET ${idp.issuer}/.well-known/openid-configuration 200 Nms`,
      `react-sso POST ${idp.issuer}/token 200 Nms`,
    ]);
  });
});
