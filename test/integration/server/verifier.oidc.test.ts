// @vitest-environment node
// The resource-server guard against a real oidc-provider: JWT access tokens for the API's
// audience checked against its JWKS, opaque ones by introspection, and every way a token can be
// wrong, with the JWKS and introspection requests counted at the server.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, base64url, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, exportSPKI, generateKeyPair, importJWK, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AuthError, createOAuthClient, createTokenVerifier, type TokenVerifierOptions } from "react-sso-kit/server";
import { createLeakCheck } from "../../support/leakCheck.js";
import {
  API_AUDIENCE,
  OPAQUE_AUDIENCE,
  OTHER_AUDIENCE,
  RESOURCE_SERVER_CLIENT,
  SERVICE_CLIENT,
  SHORT_AUDIENCE,
  startOidcServer,
  type OidcServer,
} from "../../support/oidcServer.js";

let idp: OidcServer;
const leaks = createLeakCheck();
const lines: string[] = [];

const service = () => createOAuthClient({ issuer: idp.issuer, clientId: SERVICE_CLIENT.id, clientSecret: SERVICE_CLIENT.secret });
/** A client-credentials access token from the IdP, for `resource`. */
async function tokenFor(resource: string | undefined, scope = "orders:read"): Promise<string> {
  const token = await service().clientCredentials({ scope, ...(resource ? { resource } : {}) });
  leaks.secret(token.accessToken);
  return token.accessToken;
}

const verifierFor = (options: Partial<TokenVerifierOptions> = {}) =>
  createTokenVerifier({
    issuer: idp.issuer,
    audience: API_AUDIENCE,
    debug: (line) => lines.push(line),
    ...options,
  });

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/** The verifier's refusal of `token`, recorded for the leak check. */
async function refusal(verify: Promise<unknown>): Promise<AuthError> {
  const err = await verify.then(
    () => {
      throw new Error("the token was accepted");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthError);
  leaks.see(err);
  return err as AuthError;
}

beforeAll(async () => {
  idp = await startOidcServer();
  leaks.secret(SERVICE_CLIENT.secret, RESOURCE_SERVER_CLIENT.secret);
});

afterAll(async () => {
  leaks.see(...lines);
  await idp?.close();
  expect(leaks.seen).toBeGreaterThan(20);
  expect(leaks.leaks()).toEqual([]);
});

describe("JWT access tokens", () => {
  it("a valid token resolves what it says; discovery and the JWKS are read once", async () => {
    const verifier = verifierFor();
    const token = await tokenFor(API_AUDIENCE, "orders:read orders:write");
    idp.resetCounts();
    const auth = await verifier.verify(new Request("https://api.example.test/orders", bearer(token)), { scopes: ["orders:read"] });
    expect(auth).toEqual({
      sub: SERVICE_CLIENT.id,
      clientId: SERVICE_CLIENT.id,
      scopes: ["orders:read", "orders:write"],
      claims: expect.objectContaining({ iss: idp.issuer, aud: API_AUDIENCE, client_id: SERVICE_CLIENT.id }),
      token,
    });
    await Promise.all(Array.from({ length: 10 }, () => verifier.verify(bearer(token), { scopes: "orders:read orders:write" })));
    expect(idp.counts()).toEqual({ discovery: 1, jwks: 1 });
  });

  it("a missing scope: 403 insufficient_scope naming every scope needed", async () => {
    const err = await refusal(verifierFor().verify(bearer(await tokenFor(API_AUDIENCE, "orders:read")), { scopes: ["orders:read", "orders:write"] }));
    expect(err).toMatchObject({ status: 403, code: "insufficient_scope", error: "insufficient_scope" });
    expect(err.wwwAuthenticate).toBe('Bearer error="insufficient_scope", error_description="The access token lacks the scope orders:write.", scope="orders:read orders:write"');
  });

  it("a token for another audience: 401 invalid_token", async () => {
    const err = await refusal(verifierFor().verify(bearer(await tokenFor(OTHER_AUDIENCE))));
    expect(err).toMatchObject({ status: 401, code: "invalid_token", wwwAuthenticate: 'Bearer error="invalid_token", error_description="The access token is meant for another audience (aud)."' });
  });

  it("a token from another issuer (the right keys, another issuer string): 401 invalid_token", async () => {
    const err = await refusal(verifierFor({ issuer: `${idp.issuer}/other`, jwksUri: idp.endpoints.jwks }).verify(bearer(await tokenFor(API_AUDIENCE))));
    expect(err).toMatchObject({ status: 401, code: "invalid_token", errorDescription: "The access token comes from another issuer (iss)." });
  });

  it("any of several audiences is accepted", async () => {
    await expect(verifierFor({ audience: ["https://elsewhere.example.test", OTHER_AUDIENCE] }).verify(bearer(await tokenFor(OTHER_AUDIENCE)))).resolves.toMatchObject({ sub: SERVICE_CLIENT.id });
  });

  it("an expired token: accepted while it lives, then 401 invalid_token", async () => {
    const verifier = verifierFor({ audience: SHORT_AUDIENCE, clockTolerance: 0 });
    const token = await tokenFor(SHORT_AUDIENCE);
    const { exp } = decodeJwt(token);
    // The token lives 1 s; it may already be gone if the machine is slow, so its acceptance is only asserted while it lives.
    if (Date.now() < (exp as number) * 1000 - 200) await expect(verifier.verify(bearer(token))).resolves.toMatchObject({ token });
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThanOrEqual((exp as number) * 1000), { timeout: 5000, interval: 50 });
    const err = await refusal(verifier.verify(bearer(token)));
    expect(err).toMatchObject({ status: 401, code: "invalid_token", errorDescription: "The access token has expired." });
  });

  it("a token that is not a JWT, with no introspection configured: 401 invalid_token", async () => {
    const err = await refusal(verifierFor().verify(bearer(await tokenFor(OPAQUE_AUDIENCE))));
    expect(err).toMatchObject({ status: 401, code: "invalid_token" });
  });
});

describe("forgeries", () => {
  async function claims() {
    return { iss: idp.issuer, aud: API_AUDIENCE, sub: "admin", client_id: SERVICE_CLIENT.id, scope: "orders:read orders:write", exp: Math.floor(Date.now() / 1000) + 300 };
  }

  it("alg none: 401, and no JWKS request", async () => {
    const verifier = verifierFor({ jwksUri: idp.endpoints.jwks });
    const kid = idp.publicJwks().keys[0]?.kid;
    const none = `${base64url.encode(JSON.stringify({ alg: "none", typ: "at+jwt", kid }))}.${base64url.encode(JSON.stringify(await claims()))}.`;
    idp.resetCounts();
    for (const token of [none, `${none}AAAA`]) {
      const err = await refusal(verifier.verify(bearer(token)));
      expect(err).toMatchObject({ status: 401, code: "invalid_token" });
    }
    expect(idp.counts()).toEqual({});
  });

  it("HS256 signed with the IdP's public key as the secret: 401, and no JWKS request", async () => {
    const verifier = verifierFor({ jwksUri: idp.endpoints.jwks });
    const jwk = idp.publicJwks().keys[0];
    const pem = await exportSPKI((await importJWK({ ...jwk, alg: "RS256" }, "RS256", { extractable: true })) as CryptoKey);
    // The public key in each form a confused verifier might take as the HMAC secret.
    const forgeries = await Promise.all(
      [pem, pem.trim(), JSON.stringify(jwk), String(jwk?.n)].map(async (secret) =>
        new SignJWT(await claims()).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: jwk?.kid as string }).sign(new TextEncoder().encode(secret)),
      ),
    );
    idp.resetCounts();
    for (const token of forgeries) {
      const err = await refusal(verifier.verify(bearer(token)));
      expect(err).toMatchObject({ status: 401, code: "invalid_token", errorDescription: "The access token's signing algorithm is not accepted." });
    }
    expect(idp.counts()).toEqual({});
  });

  it("the IdP's kid with another key's signature: 401 invalid_token", async () => {
    const verifier = verifierFor();
    const { privateKey } = await generateKeyPair("RS256");
    const token = await new SignJWT(await claims()).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: idp.publicJwks().keys[0]?.kid as string }).sign(privateKey);
    const err = await refusal(verifier.verify(bearer(token)));
    expect(err).toMatchObject({ status: 401, errorDescription: "The access token's signature is invalid." });
  });

  it("a flood of tokens with unknown kids: all 401, and one JWKS request besides the first", async () => {
    const verifier = verifierFor({ jwksUri: idp.endpoints.jwks });
    await verifier.verify(bearer(await tokenFor(API_AUDIENCE)));
    const { privateKey } = await generateKeyPair("RS256");
    const forged = await Promise.all(Array.from({ length: 50 }, async (_, i) => new SignJWT(await claims()).setProtectedHeader({ alg: "RS256", kid: `forged-${i}` }).sign(privateKey)));
    idp.resetCounts();
    const results = await Promise.allSettled(forged.map((token) => verifier.verify(bearer(token))));
    for (const token of forged.slice(0, 10)) await refusal(verifier.verify(bearer(token)));
    expect(results.map((r) => (r.status === "rejected" ? (r.reason as AuthError).status : 200))).toEqual(forged.map(() => 401));
    expect(idp.counts()).toEqual({ jwks: 1 });
  });
});

describe("key rotation", () => {
  it("a token signed with a key rotated in just after the JWKS was read is accepted, with one more JWKS request", async () => {
    const verifier = verifierFor();
    await verifier.verify(bearer(await tokenFor(API_AUDIENCE)));
    // jose's own remote set, warmed up at the same moment, for contrast.
    const joseSet = createRemoteJWKSet(new URL(idp.endpoints.jwks));
    await joseSet.reload();
    await idp.rotateKeys();
    const rotated = await tokenFor(API_AUDIENCE);
    const [newKey, oldKey] = idp.publicJwks().keys;
    expect(decodeProtectedHeader(rotated).kid).toBe(newKey?.kid);
    expect(newKey?.kid).not.toBe(oldKey?.kid);
    idp.resetCounts();
    await expect(verifier.verify(bearer(rotated))).resolves.toMatchObject({ token: rotated });
    expect(idp.counts()).toEqual({ jwks: 1 });
    // createRemoteJWKSet's 30 s cooldown counts from any fetch: it refuses the new key.
    await expect(jwtVerify(rotated, joseSet)).rejects.toMatchObject({ code: "ERR_JWKS_NO_MATCHING_KEY" });
  });

  it("tokens of the previous key keep working after the rotation", async () => {
    const verifier = verifierFor();
    const before = await tokenFor(API_AUDIENCE);
    await idp.rotateKeys();
    await expect(verifier.verify(bearer(before))).resolves.toMatchObject({ token: before });
  });
});

describe("opaque tokens, by introspection", () => {
  const introspecting = (options: Partial<TokenVerifierOptions> = {}, cacheSeconds?: number) =>
    verifierFor({
      audience: OPAQUE_AUDIENCE,
      introspection: { clientId: RESOURCE_SERVER_CLIENT.id, clientSecret: RESOURCE_SERVER_CLIENT.secret, cacheSeconds },
      ...options,
    });

  it("an active token resolves what the IdP says, and is introspected once within the cache window", async () => {
    const verifier = introspecting();
    const token = await tokenFor(OPAQUE_AUDIENCE, "orders:read orders:write");
    idp.resetCounts();
    const auth = await verifier.verify(bearer(token), { scopes: "orders:write" });
    expect(auth).toMatchObject({ clientId: SERVICE_CLIENT.id, scopes: ["orders:read", "orders:write"], claims: expect.objectContaining({ active: true, aud: OPAQUE_AUDIENCE }), token });
    await Promise.all(Array.from({ length: 5 }, () => verifier.verify(bearer(token))));
    expect(idp.counts()).toEqual({ discovery: 1, introspection: 1 });
  });

  it("a revoked token: 401 invalid_token", async () => {
    const verifier = introspecting({}, 0);
    const token = await tokenFor(OPAQUE_AUDIENCE);
    await expect(verifier.verify(bearer(token))).resolves.toMatchObject({ token });
    await service().revoke(token);
    const err = await refusal(verifier.verify(bearer(token)));
    expect(err).toMatchObject({ status: 401, code: "invalid_token", errorDescription: expect.stringContaining("not active") });
  });

  it("a token unknown to the IdP, and one without our audience: 401 invalid_token", async () => {
    const verifier = introspecting();
    expect(await refusal(verifier.verify(bearer("made-up-token")))).toMatchObject({ status: 401, code: "invalid_token" });
    // Client credentials without a resource indicator: an opaque token with no audience.
    expect(await refusal(verifier.verify(bearer(await tokenFor(undefined))))).toMatchObject({ status: 401, errorDescription: "The access token is meant for another audience (aud)." });
  });

  it("JWTs are still checked locally, never sent to introspection", async () => {
    const verifier = introspecting({ audience: [OPAQUE_AUDIENCE, API_AUDIENCE] });
    const jwt = await tokenFor(API_AUDIENCE);
    idp.resetCounts();
    await verifier.verify(bearer(jwt));
    expect(idp.counts()).toEqual({ discovery: 1, jwks: 1 });
  });

  it("a wrong introspection secret is the API's fault: not a 401, not transient, and the secret is in no message", async () => {
    const verifier = introspecting({ introspection: { clientId: RESOURCE_SERVER_CLIENT.id, clientSecret: "wrong-secret-value" } });
    leaks.secret("wrong-secret-value");
    const err = await refusal(verifier.verify(bearer(await tokenFor(OPAQUE_AUDIENCE))));
    expect(err).toMatchObject({ status: undefined, code: "invalid_client", error: "invalid_client", transient: false });
    expect(err.message).toContain("introspection endpoint");
  });
});

describe("the IdP unreachable", () => {
  async function closedPort(): Promise<string> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return `http://127.0.0.1:${port}`;
  }

  it("is a transient 503, never a 401, for discovery, the JWKS and introspection alike", async () => {
    const down = await closedPort();
    const token = await tokenFor(API_AUDIENCE);
    const cases = [
      verifierFor({ issuer: down }),
      verifierFor({ jwksUri: `${down}/jwks` }),
      verifierFor({ audience: OPAQUE_AUDIENCE, introspection: { endpoint: `${down}/introspect`, clientId: RESOURCE_SERVER_CLIENT.id, clientSecret: RESOURCE_SERVER_CLIENT.secret } }),
    ];
    for (const [i, verifier] of cases.entries()) {
      const err = await refusal(verifier.verify(bearer(i === 2 ? "opaque-token" : token)));
      expect(err).toMatchObject({ status: 503, code: "temporarily_unavailable", transient: true, wwwAuthenticate: undefined });
      expect(err.cause).toMatchObject({ code: "network" });
    }
  });

  it("once the IdP is back, the same verifier works (a failed discovery is not kept)", async () => {
    const server = createServer((req, res) => {
      res.writeHead(503).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    let requests = 0;
    const verifier = verifierFor({
      // The first discovery request fails like a blinking IdP; the next reach the real one.
      fetch: (input, init) => (requests++ === 0 ? fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, init) : fetch(input, init)),
    });
    const token = await tokenFor(API_AUDIENCE);
    expect(await refusal(verifier.verify(bearer(token)))).toMatchObject({ status: 503 });
    await expect(verifier.verify(bearer(token))).resolves.toMatchObject({ token });
    await new Promise((resolve) => server.close(resolve));
  });
});

it("the debug lines name each request and nothing secret", () => {
  expect(lines.length).toBeGreaterThan(10);
  for (const line of lines) expect(line).toMatch(/^react-sso (GET|POST) http:\/\/127\.0\.0\.1:\d+\/[\w./-]* (\d{3}|failed|timeout) \d+ms$/);
  expect(lines.some((line) => line.includes("/token/introspection 200"))).toBe(true);
});
