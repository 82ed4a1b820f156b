// @vitest-environment node
// The JWKS cache's windows, with the clock faked: the JWKS "server" is a counting fetch, since
// what is tested is when the source asks, not how a real server answers (the integration tests
// rotate oidc-provider's keys for that).
import { SignJWT, base64url, errors, exportJWK, exportSPKI, generateKeyPair, type JWK } from "jose";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { AuthError } from "../../../src/shared/AuthError.js";
import { createJwksSource, verifyWithJwks, type JwksSource } from "../../../src/server/jwks.js";

const URI = "https://sso.example.com/jwks";
type Pair = Awaited<ReturnType<typeof generateKeyPair>> & { kid: string; jwk: JWK };
let one: Pair, two: Pair, attacker: Pair;

async function pair(kid: string): Promise<Pair> {
  const keys = await generateKeyPair("RS256", { extractable: true });
  return { ...keys, kid, jwk: { ...(await exportJWK(keys.publicKey)), kid, alg: "RS256", use: "sig" } };
}

/** A token signed by `key`, its header naming `kid` (none for null). */
const sign = (key: Pair, kid: string | null = key.kid) =>
  new SignJWT({ sub: "ada" })
    .setProtectedHeader({ alg: "RS256", ...(kid === null ? {} : { kid }) })
    .setIssuer("https://sso.example.com")
    .setAudience("api")
    .setExpirationTime("5m")
    .sign(key.privateKey);

const verify = (token: string, jwks: JwksSource) => verifyWithJwks(token, jwks, { issuer: "https://sso.example.com", audience: "api" });

let served: JWK[];
let answer: () => Response;
let fetches: number;
const fetchJwks: typeof fetch = async (input) => {
  fetches += 1;
  expect(String(input)).toBe(URI);
  return answer();
};

beforeAll(async () => {
  [one, two, attacker] = await Promise.all([pair("one"), pair("two"), pair("one-forged")]);
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"], now: new Date("2030-01-01T00:00:00Z") });
  served = [one.jwk];
  answer = () => Response.json({ keys: served });
  fetches = 0;
});

afterEach(() => {
  vi.useRealTimers();
});

const source = (options: { cacheMaxAgeMs?: number; unknownKidCooldownMs?: number } = {}) => createJwksSource({ uri: URI, fetch: fetchJwks, ...options });

describe("caching", () => {
  it("fetches once for many verifications, concurrent ones included", async () => {
    const jwks = source();
    const token = await sign(one);
    await Promise.all(Array.from({ length: 20 }, () => verify(token, jwks)));
    await verify(token, jwks);
    expect(fetches).toBe(1);
  });

  it("fetches again when the cache is older than cacheMaxAgeMs, and not before", async () => {
    const jwks = source({ cacheMaxAgeMs: 60_000 });
    const token = await sign(one);
    await verify(token, jwks);
    vi.advanceTimersByTime(59_999);
    await verify(token, jwks);
    expect(fetches).toBe(1);
    vi.advanceTimersByTime(1);
    await verify(token, jwks);
    expect(fetches).toBe(2);
  });

  it("keeps serving the cached set when a refresh fails, and does not retry on every verification", async () => {
    const jwks = source({ cacheMaxAgeMs: 60_000, unknownKidCooldownMs: 10_000 });
    const token = await sign(one);
    await verify(token, jwks);
    vi.advanceTimersByTime(60_000);
    answer = () => new Response("down", { status: 503 });
    await verify(token, jwks);
    await verify(token, jwks);
    expect(fetches).toBe(2);
    vi.advanceTimersByTime(10_000);
    answer = () => Response.json({ keys: served });
    await verify(token, jwks);
    expect(fetches).toBe(3);
  });
});

describe("an unknown kid", () => {
  it("refetches at once, even a second after the last fetch (a rotation)", async () => {
    const jwks = source();
    await verify(await sign(one), jwks);
    served = [two.jwk, one.jwk];
    vi.advanceTimersByTime(1000);
    await expect(verify(await sign(two), jwks)).resolves.toMatchObject({ payload: { sub: "ada" } });
    expect(fetches).toBe(2);
  });

  it("50 concurrent tokens of a new key share one refetch", async () => {
    const jwks = source();
    await verify(await sign(one), jwks);
    served = [two.jwk, one.jwk];
    const token = await sign(two);
    await Promise.all(Array.from({ length: 50 }, () => verify(token, jwks)));
    expect(fetches).toBe(2);
  });

  it("a flood of forged kids costs one refetch per cooldown, and a real rotation after the cooldown is still found", async () => {
    const jwks = source({ unknownKidCooldownMs: 10_000 });
    await verify(await sign(one), jwks);
    const forged = await Promise.all(Array.from({ length: 50 }, (_, i) => sign(attacker, `forged-${i}`)));
    const results = await Promise.allSettled(forged.map((token) => verify(token, jwks)));
    expect(results.every((r) => r.status === "rejected" && r.reason instanceof errors.JWKSNoMatchingKey)).toBe(true);
    for (const token of forged) await expect(verify(token, jwks)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(fetches).toBe(2);

    vi.advanceTimersByTime(9_999);
    await expect(verify(forged[0] as string, jwks)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(fetches).toBe(2);
    vi.advanceTimersByTime(1);
    served = [two.jwk, one.jwk];
    await expect(verify(await sign(two), jwks)).resolves.toBeDefined();
    expect(fetches).toBe(3);
  });

  it("right after the first fetch, is not fetched for twice", async () => {
    const jwks = source();
    await expect(verify(await sign(attacker, "nobody"), jwks)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(fetches).toBe(1);
  });
});

describe("forgeries never cost a fetch", () => {
  it("alg none", async () => {
    const jwks = source();
    const none = `${base64url.encode(JSON.stringify({ alg: "none", kid: "one" }))}.${base64url.encode(JSON.stringify({ sub: "ada", iss: "https://sso.example.com", aud: "api" }))}.`;
    await expect(verify(none, jwks)).rejects.toBeInstanceOf(errors.JOSEAlgNotAllowed);
    expect(fetches).toBe(0);
  });

  it("HS256 signed with the public key as the secret", async () => {
    const jwks = source();
    const secret = new TextEncoder().encode(await exportSPKI(one.publicKey));
    const forged = await new SignJWT({ sub: "ada" }).setProtectedHeader({ alg: "HS256", kid: "one" }).setIssuer("https://sso.example.com").setAudience("api").setExpirationTime("5m").sign(secret);
    await expect(verify(forged, jwks)).rejects.toBeInstanceOf(errors.JOSEAlgNotAllowed);
    expect(fetches).toBe(0);
  });

  it("a known kid with another key's signature", async () => {
    const jwks = source();
    await expect(verify(await sign(attacker, "one"), jwks)).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
    expect(fetches).toBe(1);
  });
});

describe("failures", () => {
  it.each([
    ["a network failure", () => Promise.reject(new TypeError("fetch failed")), "network", undefined],
    ["a 500", () => Promise.resolve(new Response("oops", { status: 500 })), "invalid_response", 500],
    ["HTML", () => Promise.resolve(new Response("<html>", { status: 200 })), "invalid_response", 200],
    ["a set of something else", () => Promise.resolve(Response.json({ keys: "nope" })), "invalid_response", 200],
  ] as const)("%s, with nothing cached, is an AuthError", async (_name, reply, code, status) => {
    const jwks = createJwksSource({ uri: URI, fetch: () => reply() });
    const err = await verify(await sign(one), jwks).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err).toMatchObject({ code, status });
    expect((err as AuthError).message).toContain("https://sso.example.com/jwks");
  });

  it("a timeout says so", async () => {
    vi.useRealTimers();
    const jwks = createJwksSource({
      uri: URI,
      timeoutMs: 20,
      fetch: (_input, init) => new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason))),
    });
    await expect(verify(await sign(one), jwks)).rejects.toMatchObject({ code: "network", message: expect.stringContaining("did not answer within 20 ms") });
  });
});

it("tries each key when several match a token without kid", async () => {
  const withoutKid = ({ kid: _kid, ...jwk }: JWK): JWK => jwk;
  served = [withoutKid(attacker.jwk), withoutKid(one.jwk)];
  const jwks = source();
  await expect(verify(await sign(one, null), jwks)).resolves.toMatchObject({ payload: { sub: "ada" } });
  await expect(verify(await sign(two, null), jwks)).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
});
