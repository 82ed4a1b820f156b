// @vitest-environment node
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createOAuthClient } from "../../../src/server/createOAuthClient.js";
import { createToken, tokenSetOf } from "../../../src/server/createToken.js";

const T0 = new Date("2030-01-01T00:00:00Z").getTime();

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"], now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("TokenSet", () => {
  const response = { access_token: "at", token_type: "Bearer", expires_in: 3600, refresh_token: "rt", id_token: "idt", scope: "a b", custom: 1 };

  it("takes expires_in from the moment it was received", () => {
    const token = tokenSetOf(response, T0 - 1000);
    expect(token).toMatchObject({ accessToken: "at", tokenType: "bearer", expiresAt: T0 + 3_599_000, refreshToken: "rt", idToken: "idt", scope: "a b" });
    expect(token.raw).toEqual(response);
    expect(Object.isFrozen(token) && Object.isFrozen(token.raw)).toBe(true);
  });

  it("expired(window) turns true window seconds before expiry, and stays false when the expiry is unknown", () => {
    const token = createToken({ access_token: "at", token_type: "bearer", expires_in: 100 });
    expect(token.expired()).toBe(false);
    expect(token.expired(99)).toBe(false);
    expect(token.expired(100)).toBe(true);
    vi.advanceTimersByTime(99_999);
    expect(token.expired()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(token.expired()).toBe(true);
    const unknown = createToken({ access_token: "at", token_type: "bearer" });
    expect(unknown.expiresAt).toBeUndefined();
    expect(unknown.expired(1e9)).toBe(false);
  });

  it("toJSON and createToken round-trip, expiry included, long after receipt", () => {
    const json = JSON.parse(JSON.stringify(createToken(response))) as Record<string, unknown>;
    expect(json).toEqual({ access_token: "at", token_type: "Bearer", expires_at: "2030-01-01T01:00:00.000Z", refresh_token: "rt", id_token: "idt", scope: "a b", custom: 1 });
    vi.advanceTimersByTime(3_000_000);
    const restored = createToken(json as never);
    expect(restored.expiresAt).toBe(T0 + 3_600_000);
    expect(restored.expired(599)).toBe(false);
    expect(restored.expired(600)).toBe(true);
    expect(restored.toJSON()).toEqual(json);
  });

  it.each([
    ["simple-oauth2 (a Date)", new Date(T0 + 5000), T0 + 5000],
    ["simple-oauth2 (an ISO string from JSON)", new Date(T0 + 5000).toISOString(), T0 + 5000],
    ["openid-client (epoch seconds)", T0 / 1000 + 5, T0 + 5000],
  ])("restores expires_at stored by %s", (_name, expiresAt, expected) => {
    expect(createToken({ access_token: "at", token_type: "bearer", expires_at: expiresAt }).expiresAt).toBe(expected);
  });

  it("reads expires_in sent as a numeric string, and treats a non-numeric one as absent (never NaN)", () => {
    expect(createToken({ access_token: "at", expires_in: "3600" }).expiresAt).toBe(T0 + 3_600_000);
    expect(createToken({ access_token: "at", expires_in: "soon" }).expiresAt).toBeUndefined();
    expect(createToken({ access_token: "at", expires_in: -5 }).expiresAt).toBeUndefined();
  });

  it("keeps the previous refresh token when a refresh answer carries none", () => {
    const token = tokenSetOf({ access_token: "new", token_type: "bearer" }, T0, "old-rt");
    expect(token.refreshToken).toBe("old-rt");
    expect(token.toJSON().refresh_token).toBe("old-rt");
  });

  it.each([
    [{}, '"access_token"'],
    [{ access_token: "" }, '"access_token"'],
    [{ access_token: "at", expires_at: "not a date" }, '"expires_at"'],
    [{ access_token: "at", refresh_token: 5 }, '"refresh_token"'],
  ])("refuses %j, naming the field", (json, field) => {
    expect(() => createToken(json as never)).toThrow(expect.objectContaining({ code: "config", message: expect.stringContaining(field) }));
  });

  it("never prints a token in the error for a bad window", () => {
    expect(() => createToken({ access_token: "secret-at" }).expired(Number.NaN)).toThrow(expect.objectContaining({ message: expect.not.stringContaining("secret-at") }));
  });
});

describe("getAccessToken's window", () => {
  // When the cache asks again is what is tested: the token endpoint is a counting fetch.
  function service(expiresIn: number) {
    const requests: URLSearchParams[] = [];
    const oauth = createOAuthClient({
      tokenEndpoint: "https://sso.example.com/token",
      clientId: "reports-service",
      clientSecret: "s",
      fetch: async (_input, init) => {
        requests.push(new URLSearchParams(String(init?.body)));
        return Response.json({ access_token: `token-${requests.length}`, token_type: "Bearer", expires_in: expiresIn });
      },
    });
    return { oauth, requests };
  }

  it("keeps a token until minValidity seconds before it expires", async () => {
    const { oauth, requests } = service(3600);
    expect(await oauth.getAccessToken({ scope: "reports:read" })).toBe("token-1");
    vi.advanceTimersByTime(3_539_999);
    expect(await oauth.getAccessToken({ scope: "reports:read" })).toBe("token-1");
    vi.advanceTimersByTime(1);
    expect(await oauth.getAccessToken({ scope: "reports:read" })).toBe("token-2");
    expect(await oauth.getAccessToken({ scope: "reports:read", minValidity: 0 })).toBe("token-2");
    expect(requests).toHaveLength(2);
  });

  it("caches per scope (in any order), audience and resource", async () => {
    const { oauth, requests } = service(3600);
    await oauth.getAccessToken({ scope: "a b" });
    await oauth.getAccessToken({ scope: ["b", "a"] });
    await oauth.getAccessToken({ scope: "a" });
    await oauth.getAccessToken({ scope: "a", audience: "https://api" });
    await oauth.getAccessToken({ scope: "a", resource: "https://api" });
    await oauth.getAccessToken({ scope: "a", resource: ["https://api"] });
    expect(requests.map((r) => Object.fromEntries(r))).toEqual([
      { grant_type: "client_credentials", scope: "a b" },
      { grant_type: "client_credentials", scope: "a" },
      { grant_type: "client_credentials", scope: "a", audience: "https://api" },
      { grant_type: "client_credentials", scope: "a", resource: "https://api" },
    ]);
  });

  it("does not reuse a token whose lifetime is unknown, or shorter than minValidity", async () => {
    const short = service(30);
    await short.oauth.getAccessToken();
    await short.oauth.getAccessToken();
    expect(short.requests).toHaveLength(2);
    const requests: number[] = [];
    const unknown = createOAuthClient({
      tokenEndpoint: "https://sso.example.com/token",
      clientId: "c",
      clientSecret: "s",
      fetch: async () => {
        requests.push(1);
        return Response.json({ access_token: "t", token_type: "Bearer" });
      },
    });
    await unknown.getAccessToken();
    await unknown.getAccessToken();
    expect(requests).toHaveLength(2);
  });
});
