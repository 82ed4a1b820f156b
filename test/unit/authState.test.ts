import { describe, expect, it } from "vitest";
import { AuthError } from "../../src/shared/AuthError.js";
import { LOADING, reduce, sameUser, type AuthSnapshot, type AuthUser } from "../../src/core/authState.js";

function user(claims: Record<string, unknown> = { name: "Ada", groups: ["admin", "dev"] }, sub = "u1", scopes = ["openid", "profile"]): AuthUser {
  return { sub, claims, scopes };
}

const snapshot = (status: AuthSnapshot["status"], u: AuthUser | null = null, error: AuthError | null = null): AuthSnapshot => ({
  status,
  user: u,
  error,
});

const boom = new AuthError("invalid_grant", "The IdP answered invalid_grant.");

describe("reduce: transitions", () => {
  it("restored with a user: authenticated", () => {
    const u = user();
    expect(reduce(LOADING, { type: "restored", user: u })).toEqual({ status: "authenticated", user: u, error: null });
  });

  it("restored without a user: unauthenticated", () => {
    expect(reduce(LOADING, { type: "restored", user: null })).toEqual({ status: "unauthenticated", user: null, error: null });
  });

  it("restored clears a previous error", () => {
    expect(reduce(snapshot("error", null, boom), { type: "restored", user: null }).error).toBeNull();
  });

  it("signedIn: authenticated with the user, error cleared", () => {
    const u = user();
    expect(reduce(snapshot("error", null, boom), { type: "signedIn", user: u })).toEqual({ status: "authenticated", user: u, error: null });
  });

  it("refreshed: authenticated with the user", () => {
    const u = user();
    expect(reduce(snapshot("loading"), { type: "refreshed", user: u })).toEqual({ status: "authenticated", user: u, error: null });
  });

  it("failed with a session: stays authenticated with the same user, error set", () => {
    const u = user();
    const next = reduce(snapshot("authenticated", u), { type: "failed", error: boom });
    expect(next.status).toBe("authenticated");
    expect(next.user).toBe(u);
    expect(next.error).toBe(boom);
  });

  it('failed without a session: status "error"', () => {
    for (const status of ["loading", "unauthenticated"] as const) {
      expect(reduce(snapshot(status), { type: "failed", error: boom })).toEqual({ status: "error", user: null, error: boom });
    }
  });

  it("signedOut: unauthenticated and the user cleared", () => {
    const next = reduce(snapshot("authenticated", user()), { type: "signedOut" });
    expect(next).toEqual({ status: "unauthenticated", user: null, error: null });
  });

  it("signedOut with an error keeps the error", () => {
    const expired = new AuthError("session_expired", "The session has ended.");
    expect(reduce(snapshot("authenticated", user()), { type: "signedOut", error: expired })).toEqual({
      status: "unauthenticated",
      user: null,
      error: expired,
    });
  });

  it("returns frozen snapshots", () => {
    expect(Object.isFrozen(reduce(LOADING, { type: "restored", user: null }))).toBe(true);
    expect(Object.isFrozen(LOADING)).toBe(true);
  });

  it("does not modify the state it is given", () => {
    const u = user();
    const state = Object.freeze(snapshot("authenticated", u));
    reduce(state, { type: "signedOut" });
    expect(state).toEqual({ status: "authenticated", user: u, error: null });
  });
});

describe("reduce: returns the same object when nothing changes", () => {
  it("restored again with nobody", () => {
    const state = reduce(LOADING, { type: "restored", user: null });
    expect(reduce(state, { type: "restored", user: null })).toBe(state);
  });

  it("signedOut while signed out", () => {
    const state = snapshot("unauthenticated");
    expect(reduce(state, { type: "signedOut" })).toBe(state);
  });

  it("the same failure twice", () => {
    const state = reduce(snapshot("unauthenticated"), { type: "failed", error: boom });
    expect(reduce(state, { type: "failed", error: boom })).toBe(state);
  });

  it("refreshed with deep-equal claims, scopes and sub", () => {
    const state = reduce(LOADING, { type: "signedIn", user: user() });
    expect(reduce(state, { type: "refreshed", user: user() })).toBe(state);
  });
});

describe("reduce: user identity across refreshes", () => {
  const claims = { name: "Ada", address: { city: "London", lines: ["1 Main St"] }, groups: ["admin"] };

  it("keeps the same user object when a refresh carries deep-equal data", () => {
    const first = user(structuredClone(claims));
    const state = reduce(snapshot("authenticated", first), { type: "refreshed", user: user(structuredClone(claims)) });
    expect(state.user).toBe(first);
  });

  it("keeps the same user object when a signedIn carries deep-equal data, even after an error", () => {
    const first = user(structuredClone(claims));
    const state = reduce(snapshot("authenticated", first, boom), { type: "signedIn", user: user(structuredClone(claims)) });
    expect(state.user).toBe(first);
    expect(state.error).toBeNull();
  });

  it.each([
    ["a top-level claim changes", user({ ...claims, name: "Ada L." })],
    ["a nested claim changes", user({ ...claims, address: { city: "Paris", lines: ["1 Main St"] } })],
    ["an array claim changes", user({ ...claims, groups: ["admin", "dev"] })],
    ["a claim is added", user({ ...claims, email: "ada@example.com" })],
    ["a claim is removed", user({ name: "Ada", address: claims.address })],
    ["an array claim becomes an object with the same keys", user({ ...claims, groups: { 0: "admin" } })],
    ["the scopes change", user(claims, "u1", ["openid"])],
    ["the sub changes", user(claims, "u2")],
  ])("gives a new user object when %s", (_what, changed) => {
    const first = user(structuredClone(claims));
    const state = reduce(snapshot("authenticated", first), { type: "refreshed", user: changed });
    expect(state.user).toBe(changed);
    expect(state.user).not.toBe(first);
  });
});

describe("sameUser", () => {
  it("compares by value", () => {
    expect(sameUser(user(), user())).toBe(true);
    expect(sameUser(user(), user({ name: "Bob" }))).toBe(false);
    expect(sameUser(null, null)).toBe(true);
    expect(sameUser(user(), null)).toBe(false);
    expect(sameUser(null, user())).toBe(false);
  });
});
