// @vitest-environment node
// Against @jmondi/oauth2-server, a plain OAuth 2.0 server without discovery whose HTTP Basic
// parsing does not URL-decode: the service client (every grant and token operation, endpoints
// configured by hand) and the guard (its access tokens are HS256 JWTs only it can check, so the
// guard introspects them).
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as oauth4webapi from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AuthError, createOAuthClient, createTokenVerifier, type OAuthClientOptions, type TokenSet, type TokenVerifierOptions } from "react-sso-kit/server";
import {
  JMONDI_CONFIDENTIAL,
  JMONDI_PUBLIC,
  JMONDI_RESOURCE_SERVER,
  JMONDI_SERVICE,
  JMONDI_USER,
  startJmondiServer,
  type JmondiServer,
} from "../../support/jmondiServer.js";
import { createLeakCheck } from "../../support/leakCheck.js";

const API = "https://api.example.test";
let server: JmondiServer;
const leaks = createLeakCheck();
const lines: string[] = [];

const client = (options: Partial<OAuthClientOptions> = {}) =>
  createOAuthClient({
    tokenEndpoint: server.endpoints.token,
    authorizationEndpoint: server.endpoints.authorize,
    revocationEndpoint: server.endpoints.revoke,
    introspectionEndpoint: server.endpoints.introspect,
    clientId: JMONDI_CONFIDENTIAL.id,
    clientSecret: JMONDI_CONFIDENTIAL.secret,
    debug: (line) => lines.push(line),
    ...options,
  });

const verifier = (options: Partial<TokenVerifierOptions> = {}) =>
  createTokenVerifier({
    issuer: server.url,
    audience: API,
    introspection: { endpoint: server.endpoints.introspect, clientId: JMONDI_RESOURCE_SERVER.id, clientSecret: JMONDI_RESOURCE_SERVER.secret, cacheSeconds: 0 },
    debug: (line) => lines.push(line),
    ...options,
  });

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

function remember(token: TokenSet): TokenSet {
  leaks.secret(token.accessToken, token.refreshToken);
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
  server = await startJmondiServer();
  leaks.secret(JMONDI_CONFIDENTIAL.secret, JMONDI_SERVICE.secret, JMONDI_RESOURCE_SERVER.secret, JMONDI_USER.password);
});

afterAll(async () => {
  leaks.see(...lines);
  await server?.close();
  expect(leaks.seen).toBeGreaterThan(15);
  expect(leaks.leaks()).toEqual([]);
});

describe("client authentication with - and . in the ID and secret", () => {
  it("client_secret_basic sends them as they are, and the server, which does not decode, accepts it", async () => {
    server.resetStats();
    remember(await client().clientCredentials({ scope: "orders:read" }));
    expect(server.stats().token).toMatchObject({ total: 1, client_credentials: 1 });
    expect(server.stats().tokenErrors).toBe(0);
  });

  it("(oauth4webapi's own ClientSecretBasic form-encodes them to %2D and %2E, which this server refuses)", async () => {
    const as = { issuer: server.url, token_endpoint: server.endpoints.token };
    const response = await oauth4webapi.clientCredentialsGrantRequest(as, { client_id: JMONDI_CONFIDENTIAL.id }, oauth4webapi.ClientSecretBasic(JMONDI_CONFIDENTIAL.secret), { scope: "orders:read" }, { [oauth4webapi.allowInsecureRequests]: true });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: "invalid_client" });
  });

  it("client_secret_post works too", async () => {
    remember(await client({ clientAuthentication: "client_secret_post" }).clientCredentials({ scope: "orders:read" }));
  });

  it("a wrong secret: invalid_client 401", async () => {
    leaks.secret("s3cr3t-with.typo");
    expect(await failure(client({ clientSecret: "s3cr3t-with.typo" }).clientCredentials())).toMatchObject({ code: "invalid_client", status: 401, transient: false });
  });
});

describe("grants", () => {
  it("client credentials for an audience: a token the guard accepts, with its scopes", async () => {
    const token = remember(await client({ clientId: JMONDI_SERVICE.id, clientSecret: JMONDI_SERVICE.secret }).clientCredentials({ scope: ["orders:read", "reports:read"], audience: API }));
    expect(token).toMatchObject({ tokenType: "bearer", scope: "orders:read reports:read", expiresAt: expect.any(Number) });
    await expect(verifier().verify(bearer(token.accessToken), { scopes: "reports:read" })).resolves.toMatchObject({ clientId: JMONDI_SERVICE.id, scopes: ["orders:read", "reports:read"] });
  });

  it("getAccessToken: 50 concurrent callers, one token request", async () => {
    const oauth = client({ clientId: JMONDI_SERVICE.id, clientSecret: JMONDI_SERVICE.secret });
    server.resetStats();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => oauth.getAccessToken({ scope: "reports:read", audience: API })));
    leaks.secret(tokens[0]);
    expect(new Set(tokens).size).toBe(1);
    expect(server.stats().token).toMatchObject({ total: 1, client_credentials: 1 });
  });

  it("password (when allowed), then refresh with rotation: the old refresh token is refused, the new one works", async () => {
    const oauth = client({ allowPasswordGrant: true });
    const first = remember(await oauth.password({ username: JMONDI_USER.id, password: JMONDI_USER.password, scope: "orders:read" }));
    expect(first.refreshToken).toEqual(expect.any(String));
    const second = remember(await oauth.refresh(first));
    expect(second.refreshToken).not.toBe(first.refreshToken);
    // jmondi answers invalid_request for a retired refresh token.
    expect(await failure(oauth.refresh(first))).toMatchObject({ code: "invalid_request", status: 400, errorDescription: "Token has been revoked" });
    remember(await oauth.refresh(second, { scope: "orders:read" }));
  });

  it("a wrong password: invalid_grant, and the password is in no message", async () => {
    leaks.secret("wrong horse battery staple");
    const err = await failure(client({ allowPasswordGrant: true }).password({ username: JMONDI_USER.id, password: "wrong horse battery staple" }));
    expect(err).toMatchObject({ code: "invalid_grant", status: 400 });
  });

  it("authorization code with PKCE, through the authorize endpoint, for the confidential and the public client", async () => {
    for (const oauth of [client(), client({ clientId: JMONDI_PUBLIC.id, clientSecret: undefined })]) {
      const verifierValue = randomBytes(32).toString("base64url");
      const url = await oauth.authorizationUrl({
        redirectUri: server.redirectUris[0] as string,
        state: "state-1",
        codeChallenge: createHash("sha256").update(verifierValue).digest("base64url"),
        scope: "orders:read",
      });
      const redirect = await fetch(url, { redirect: "manual" });
      expect(redirect.status).toBe(302);
      const callback = new URL(redirect.headers.get("location") as string);
      expect(callback.searchParams.get("state")).toBe("state-1");
      const code = callback.searchParams.get("code") as string;
      leaks.secret(code, verifierValue);
      const wrong = await failure(oauth.authorizationCode({ code, redirectUri: server.redirectUris[0] as string, codeVerifier: randomBytes(32).toString("base64url") }));
      expect(wrong).toMatchObject({ code: "invalid_grant", status: 400 });
      // The failed attempt did not use the code up at this server.
      const tokens = remember(await oauth.authorizationCode({ code, redirectUri: server.redirectUris[0] as string, codeVerifier: verifierValue }));
      expect(tokens).toMatchObject({ scope: "orders:read", refreshToken: expect.any(String) });
      await expect(client().introspect(tokens.accessToken)).resolves.toMatchObject({ active: true, sub: JMONDI_USER.id });
    }
  });

  it("revoke and revokeAll: introspection then says inactive", async () => {
    const oauth = client({ allowPasswordGrant: true });
    const tokens = remember(await oauth.password({ username: JMONDI_USER.id, password: JMONDI_USER.password, scope: "orders:read" }));
    await expect(oauth.introspect(tokens.accessToken)).resolves.toMatchObject({ active: true, token_type: "access_token" });
    server.resetStats();
    await oauth.revokeAll(tokens);
    expect(server.stats().revoke).toBe(2);
    await expect(oauth.introspect(tokens.accessToken)).resolves.toEqual({ active: false });
    await expect(oauth.introspect(tokens.refreshToken as string, "refresh_token")).resolves.toEqual({ active: false });
    expect(await failure(oauth.refresh(tokens))).toMatchObject({ status: 400 });
  });
});

describe("the guard, by introspection", () => {
  const serviceToken = async (scope: string, audience = API) =>
    remember(await client({ clientId: JMONDI_SERVICE.id, clientSecret: JMONDI_SERVICE.secret }).clientCredentials({ scope, audience })).accessToken;

  it("a missing scope: 403", async () => {
    const err = await failure(verifier().verify(bearer(await serviceToken("orders:read")), { scopes: ["orders:write"] }));
    expect(err).toMatchObject({ status: 403, code: "insufficient_scope", wwwAuthenticate: expect.stringContaining('scope="orders:write"') });
  });

  it("another audience, or none: 401", async () => {
    expect(await failure(verifier().verify(bearer(await serviceToken("orders:read", "https://other.example.test"))))).toMatchObject({ status: 401, code: "invalid_token" });
    const noAudience = remember(await client({ clientId: JMONDI_SERVICE.id, clientSecret: JMONDI_SERVICE.secret }).clientCredentials({ scope: "orders:read" })).accessToken;
    expect(await failure(verifier().verify(bearer(noAudience)))).toMatchObject({ status: 401, errorDescription: "The access token is meant for another audience (aud)." });
  });

  it("a refresh token presented as an access token: 401", async () => {
    const tokens = remember(await client({ allowPasswordGrant: true }).password({ username: JMONDI_USER.id, password: JMONDI_USER.password }));
    expect(await failure(verifier().verify(bearer(tokens.refreshToken as string)))).toMatchObject({ status: 401, code: "invalid_token" });
  });

  it("a revoked token: 401", async () => {
    const token = await serviceToken("orders:read");
    await expect(verifier().verify(bearer(token))).resolves.toMatchObject({ token });
    await client({ clientId: JMONDI_SERVICE.id, clientSecret: JMONDI_SERVICE.secret }).revoke(token, "access_token");
    expect(await failure(verifier().verify(bearer(token)))).toMatchObject({ status: 401, code: "invalid_token" });
  });

  it("an expired token: accepted while it lives, then 401", async () => {
    // 4 s: long enough that the first check always falls inside it, short enough to wait out.
    const short = await startJmondiServer({ accessTokenTtl: 4 });
    try {
      const token = remember(
        await createOAuthClient({ tokenEndpoint: short.endpoints.token, clientId: JMONDI_SERVICE.id, clientSecret: JMONDI_SERVICE.secret }).clientCredentials({ scope: "orders:read", audience: API }),
      ).accessToken;
      const guard = createTokenVerifier({ audience: API, clockTolerance: 0, introspection: { endpoint: short.endpoints.introspect, clientId: JMONDI_RESOURCE_SERVER.id, clientSecret: JMONDI_RESOURCE_SERVER.secret, cacheSeconds: 0 } });
      await expect(guard.verify(bearer(token))).resolves.toMatchObject({ token });
      await vi.waitFor(async () => expect(await guard.verify(bearer(token)).catch((err: unknown) => err)).toBeInstanceOf(AuthError), { timeout: 10_000, interval: 100 });
      // Its exp, or the server's answer once it has passed: either way an invalid_token.
      expect(await failure(guard.verify(bearer(token)))).toMatchObject({ status: 401, code: "invalid_token", errorDescription: expect.stringMatching(/has expired|not active/) });
    } finally {
      await short.close();
    }
  });

  it("a wrong issuer in the introspection answer: 401", async () => {
    expect(await failure(verifier({ issuer: "https://sso.example.test" }).verify(bearer(await serviceToken("orders:read"))))).toMatchObject({ status: 401, errorDescription: "The access token comes from another issuer (iss)." });
  });
});

describe("the server down", () => {
  it("the client fails transient, the guard answers 503", async () => {
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(gone.address() as AddressInfo).port}`;
    await new Promise((resolve) => gone.close(resolve));
    expect(await failure(client({ tokenEndpoint: `${url}/token` }).clientCredentials())).toMatchObject({ code: "network", transient: true });
    const guard = verifier({ introspection: { endpoint: `${url}/token/introspect`, clientId: JMONDI_RESOURCE_SERVER.id, clientSecret: JMONDI_RESOURCE_SERVER.secret } });
    expect(await failure(guard.verify(bearer("any-token")))).toMatchObject({ status: 503, transient: true });
  });
});

describe("the test server itself", () => {
  it("answers CORS preflights for the app origin only", async () => {
    server.resetStats();
    const preflight = (origin: string) => fetch(server.endpoints.token, { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST" } });
    const allowed = await preflight("http://localhost:3000");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect((await preflight("https://evil.example.test")).headers.get("access-control-allow-origin")).toBeNull();
    expect(server.stats().preflight).toBe(2);
  });

  it("close() releases its keep-alive sockets and the port", async () => {
    const extra = await startJmondiServer();
    // Node's fetch keeps the connection alive after this answer.
    expect((await fetch(`${extra.url}/nowhere`)).status).toBe(404);
    await extra.close();
    await expect(fetch(`${extra.url}/nowhere`)).rejects.toThrow();
  });
});
