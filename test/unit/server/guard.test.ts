// @vitest-environment node
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuthError } from "../../../src/shared/AuthError.js";
import { authFailure } from "../../../src/server/authFailure.js";
import { bearerChallenge, bearerToken, createTokenVerifier } from "../../../src/server/createTokenVerifier.js";
import type { RequestLike } from "../../../src/server/requestHeaders.js";
import { grantedScopes, scopeList } from "../../../src/server/scopes.js";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2ln";
const refusal = (request: RequestLike) => {
  try {
    bearerToken(request);
  } catch (err) {
    return err as AuthError;
  }
  throw new Error("bearerToken accepted the request");
};

describe("reading the bearer token (RFC 6750 §2.1)", () => {
  it.each<[string, RequestLike]>([
    ["a Web Request", new Request("https://api.example.com/orders", { headers: { Authorization: `Bearer ${TOKEN}` } })],
    ["Headers", { headers: new Headers({ authorization: `Bearer ${TOKEN}` }) }],
    ["a node:http header record", { headers: { authorization: `Bearer ${TOKEN}`, host: "api" }, url: "/orders?page=2" }],
    ["a record with another case", { headers: { Authorization: `Bearer ${TOKEN}` } }],
    ["a lower-case scheme and extra spaces", { headers: { authorization: `bearer   ${TOKEN}  ` } }],
  ])("from %s", (_name, request) => {
    expect(bearerToken(request)).toBe(TOKEN);
  });

  it.each<[string, RequestLike]>([
    ["no header", { headers: {} }],
    ["another scheme", { headers: { authorization: "Basic dXNlcjpwYXNz" } }],
    ["a scheme that only starts like Bearer", { headers: { authorization: `Bearerish ${TOKEN}` } }],
  ])("%s: 401 with a bare Bearer challenge and no error code", (_name, request) => {
    expect(refusal(request)).toMatchObject({ status: 401, code: "login_required", error: undefined, wwwAuthenticate: "Bearer" });
  });

  it.each<[string, RequestLike]>([
    ["Bearer without a token", { headers: { authorization: "Bearer" } }],
    ["Bearer with spaces only", { headers: { authorization: "Bearer    " } }],
    ["a token with a character outside b64token", { headers: { authorization: "Bearer abc,def" } }],
    ["two tokens", { headers: { authorization: "Bearer abc def" } }],
    ["two Authorization headers", { headers: { authorization: [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`] } }],
    ["a token in the query string", { headers: {}, url: `/orders?access_token=${TOKEN}` }],
    ["a token in the header and the query", { headers: { authorization: `Bearer ${TOKEN}` }, url: `https://api.example.com/?access_token=${TOKEN}` }],
  ])("%s: 400 invalid_request", (_name, request) => {
    const err = refusal(request);
    expect(err).toMatchObject({ status: 400, code: "invalid_request", error: "invalid_request" });
    expect(err.wwwAuthenticate).toMatch(/^Bearer error="invalid_request", error_description="[^"]+"$/);
    expect(err.message).not.toContain(TOKEN);
  });
});

describe("WWW-Authenticate (RFC 6750 §3)", () => {
  it("is a bare Bearer without an error", () => {
    expect(bearerChallenge()).toBe("Bearer");
  });

  it("quotes the error, its description and the scope", () => {
    expect(bearerChallenge({ code: "insufficient_scope", description: "The access token lacks the scope orders:write.", scope: "orders:read orders:write" })).toBe(
      'Bearer error="insufficient_scope", error_description="The access token lacks the scope orders:write.", scope="orders:read orders:write"',
    );
  });

  it('drops what a quoted value may not hold (", \\, controls, non-ASCII)', () => {
    expect(bearerChallenge({ code: "invalid_token", description: 'a "quoted" \\ line\nbreak é' })).toBe('Bearer error="invalid_token", error_description="a  quoted    line break  "');
  });
});

describe("scopes", () => {
  it("take a space-separated string or an array, each scope once", () => {
    expect(scopeList("orders:read  orders:write orders:read", "scopes")).toEqual(["orders:read", "orders:write"]);
    expect(scopeList(["a", "b", "a"], "scopes")).toEqual(["a", "b"]);
    expect(scopeList(undefined, "scopes")).toEqual([]);
    expect(scopeList("", "scopes")).toEqual([]);
  });

  it.each([[["a b"]], [['say"hi']], [[""]], [[1]], [{}], [["é"]]])("refuse %j with a config error naming the field", (value) => {
    expect(() => scopeList(value as never, "scopes")).toThrow(expect.objectContaining({ code: "config", message: expect.stringContaining('"scopes"') }));
  });

  it("are read from scope, else scp (an array, or a string as Entra ID sends it)", () => {
    expect(grantedScopes({ scope: "a b a" })).toEqual(["a", "b"]);
    expect(grantedScopes({ scp: ["a", "b", 3] })).toEqual(["a", "b"]);
    expect(grantedScopes({ scp: "a b" })).toEqual(["a", "b"]);
    expect(grantedScopes({ scope: "a", scp: ["b"] })).toEqual(["a"]);
    expect(grantedScopes({})).toEqual([]);
  });
});

describe("the answer to a refused request", () => {
  it("carries the status, the challenge, no-store and the OAuth error", () => {
    const failure = authFailure(refusal({ headers: { authorization: "Bearer a b" } }));
    expect(failure.status).toBe(400);
    expect(failure.headers).toEqual({
      "Content-Type": "application/json",
      "Cache-Control": "no-store",
      "WWW-Authenticate": expect.stringMatching(/^Bearer error="invalid_request"/),
    });
    expect(JSON.parse(failure.body)).toEqual({ error: "invalid_request", error_description: 'The Authorization header is not "Bearer <token>".' });
  });

  it("names login_required when there were no credentials", () => {
    expect(JSON.parse(authFailure(refusal({ headers: {} })).body)).toMatchObject({ error: "login_required" });
  });

  it("tells the caller of an IdP failure only that it may retry, with Retry-After when the IdP sent one", async () => {
    const verifier = createTokenVerifier({
      issuer: "https://idp.internal:8443",
      audience: "api",
      fetch: async () => new Response("busy", { status: 503, headers: { "Retry-After": "7" } }),
    });
    const err = await verifier.verify({ headers: { authorization: `Bearer ${TOKEN}` } }).catch((e: unknown) => e as AuthError);
    expect(err).toMatchObject({ status: 503, code: "temporarily_unavailable", transient: true, message: expect.stringContaining("idp.internal") });
    const failure = authFailure(err);
    expect(failure).toMatchObject({ status: 503, headers: { "Retry-After": "7" } });
    expect(failure.headers["WWW-Authenticate"]).toBeUndefined();
    expect(JSON.parse(failure.body)).toEqual({ error: "temporarily_unavailable", error_description: "The access token cannot be checked right now; try again later." });
  });

  it("answers anything without a status with a bare 500", () => {
    for (const err of [new Error("boom with a secret"), new AuthError("invalid_client", "introspection credentials refused", { error: "invalid_client" })]) {
      const failure = authFailure(err);
      expect(failure.status).toBe(500);
      expect(JSON.parse(failure.body)).toEqual({ error: "server_error", error_description: "The access token could not be checked." });
    }
  });
});

describe("createTokenVerifier's configuration", () => {
  it.each<[string, Record<string, unknown>, string]>([
    ["no audience", { issuer: "https://sso.example.com" }, '"audience"'],
    ["an empty audience list", { issuer: "https://sso.example.com", audience: [] }, '"audience"'],
    ["no way to check tokens", { audience: "api" }, '"issuer"'],
    ["a plain-http issuer", { issuer: "http://sso.example.com", audience: "api" }, '"issuer"'],
    ["jwksUri without issuer", { jwksUri: "https://sso.example.com/jwks", audience: "api" }, '"issuer"'],
    ["introspection without endpoint or issuer", { audience: "api", introspection: { clientId: "api" } }, '"introspection.endpoint"'],
    ["introspection without clientId", { issuer: "https://sso.example.com", audience: "api", introspection: {} }, '"introspection.clientId"'],
    ["a cache above 60 s", { issuer: "https://sso.example.com", audience: "api", introspection: { clientId: "api", cacheSeconds: 61 } }, '"introspection.cacheSeconds"'],
    ["HS256 in algorithms", { issuer: "https://sso.example.com", audience: "api", algorithms: ["RS256", "HS256"] }, '"algorithms"'],
    ["none in algorithms", { issuer: "https://sso.example.com", audience: "api", algorithms: ["none"] }, '"algorithms"'],
    ["a negative clockTolerance", { issuer: "https://sso.example.com", audience: "api", clockTolerance: -1 }, '"clockTolerance"'],
  ])("%s fails at once, naming the field", (_name, options, field) => {
    expect(() => createTokenVerifier(options as never)).toThrow(expect.objectContaining({ code: "config", message: expect.stringContaining(field) }));
  });
});

describe("what discovery fills in", () => {
  /** A verifier with jwksUri and an introspection whose endpoint is left to discovery, over `answer(path)`; `asked` lists the paths requested. */
  function jwksAndIntrospection(answer: (path: string) => Response) {
    const asked: string[] = [];
    const verifier = createTokenVerifier({
      issuer: "https://sso.example.com",
      jwksUri: "https://sso.example.com/jwks",
      audience: "https://api.example.com",
      introspection: { clientId: "api", clientSecret: "s" },
      fetch: async (input) => {
        const path = new URL(String(input instanceof Request ? input.url : input)).pathname;
        asked.push(path);
        return answer(path);
      },
    });
    return { verifier, asked };
  }

  it("not the JWKS given as jwksUri: with discovery down, a JWT is still verified, and only opaque tokens wait for it", async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256" };
    const jwt = await new SignJWT({ scope: "orders:read" })
      .setProtectedHeader({ alg: "RS256", kid: "k1", typ: "at+jwt" })
      .setIssuer("https://sso.example.com")
      .setAudience("https://api.example.com")
      .setSubject("ada")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    const { verifier, asked } = jwksAndIntrospection((path) => (path === "/jwks" ? Response.json({ keys: [jwk] }) : new Response("down", { status: 503 })));
    await expect(verifier.verify({ headers: { authorization: `Bearer ${jwt}` } })).resolves.toMatchObject({ sub: "ada", scopes: ["orders:read"] });
    expect(asked).toEqual(["/jwks"]);
    await expect(verifier.verify({ headers: { authorization: "Bearer opaque-token" } })).rejects.toMatchObject({ status: 503 });
  });

  it("the introspection endpoint, when jwksUri is set and introspection.endpoint is not", async () => {
    const { verifier, asked } = jwksAndIntrospection((path) =>
      path.startsWith("/.well-known/")
        ? Response.json({ issuer: "https://sso.example.com", introspection_endpoint: "https://sso.example.com/introspect" })
        : Response.json({ active: true, aud: "https://api.example.com", sub: "ada" }),
    );
    const info = await verifier.verify({ headers: { authorization: "Bearer opaque-token" } });
    expect(info.sub).toBe("ada");
    // The configured JWKS is kept (an opaque token never needs it), the endpoint comes from discovery.
    expect(asked).toEqual(["/.well-known/openid-configuration", "/introspect"]);
  });
});

describe("the introspection cache", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  // What is tested is when the verifier asks again, so the endpoint is a counting fetch.
  function introspectingVerifier(answer: () => Record<string, unknown>, cacheSeconds?: number) {
    let requests = 0;
    const verifier = createTokenVerifier({
      audience: "https://api.example.com",
      introspection: { endpoint: "https://sso.example.com/introspect", clientId: "api", clientSecret: "s", cacheSeconds },
      fetch: async () => {
        requests += 1;
        return Response.json(answer());
      },
    });
    const check = (token = "opaque-token") => verifier.verify({ headers: { authorization: `Bearer ${token}` } });
    return { check, requests: () => requests };
  }

  const now = () => Math.floor(Date.now() / 1000);

  it("reuses an active answer for 60 s at most", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2030-01-01T00:00:00Z") });
    const idp = introspectingVerifier(() => ({ active: true, aud: "https://api.example.com", exp: now() + 3600 }));
    await idp.check();
    vi.advanceTimersByTime(59_999);
    await Promise.all([idp.check(), idp.check()]);
    expect(idp.requests()).toBe(1);
    vi.advanceTimersByTime(1);
    await idp.check();
    expect(idp.requests()).toBe(2);
  });

  it("never beyond the token's exp, and not at all with cacheSeconds 0", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2030-01-01T00:00:00Z") });
    const exp = now() + 10;
    const idp = introspectingVerifier(() => ({ active: now() < exp, aud: "https://api.example.com", exp }));
    await idp.check();
    vi.advanceTimersByTime(9_999);
    await idp.check();
    expect(idp.requests()).toBe(1);
    vi.advanceTimersByTime(1);
    await expect(idp.check()).rejects.toMatchObject({ status: 401, code: "invalid_token" });
    expect(idp.requests()).toBe(2);

    const uncached = introspectingVerifier(() => ({ active: true, aud: "https://api.example.com" }), 0);
    await uncached.check();
    await uncached.check();
    expect(uncached.requests()).toBe(2);
  });

  it("concurrent checks of one token share one request; inactive answers are not kept", async () => {
    const idp = introspectingVerifier(() => ({ active: false }));
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => idp.check()));
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    expect(idp.requests()).toBe(1);
    await expect(idp.check()).rejects.toMatchObject({ code: "invalid_token" });
    expect(idp.requests()).toBe(2);
  });
});
