import type { AuthError } from "../shared/AuthError.js";
import type { Claims } from "./session.js";

/**
 * - `loading`: the session is being read or a callback is being processed; guards wait.
 * - `authenticated`: there is a session.
 * - `unauthenticated`: there is none.
 * - `error`: signing in failed; `error` says why.
 */
export type AuthStatus = "loading" | "authenticated" | "unauthenticated" | "error";

/** The signed-in user: what the app may render. Holds no token. */
export interface AuthUser {
  /** Subject identifier from the ID token; undefined for plain OAuth 2.0 servers. */
  readonly sub: string | undefined;
  /** ID token claims, without the ones that change with every token (`exp`, `iat`, `nonce`…). */
  readonly claims: Claims;
  /** Scopes granted to the access token. */
  readonly scopes: readonly string[];
}

/**
 * What React (or any UI) renders from. Immutable: a new object only when something a UI could
 * show has changed, so `Object.is` comparisons are enough to skip renders.
 */
export interface AuthSnapshot {
  readonly status: AuthStatus;
  readonly user: AuthUser | null;
  readonly error: AuthError | null;
}

/** What happened, as the reducer sees it (the app-facing events are `AuthEvents`). */
export type AuthAction =
  | { type: "restored"; user: AuthUser | null }
  /** A callback or a restore is being processed (again, after a transient `error`): guards wait. */
  | { type: "pending"; user?: AuthUser | null | undefined; error?: AuthError | undefined }
  | { type: "signedIn"; user: AuthUser }
  | { type: "refreshed"; user: AuthUser }
  | { type: "failed"; error: AuthError }
  | { type: "signedOut"; error?: AuthError | undefined };

export const LOADING: AuthSnapshot = Object.freeze({ status: "loading", user: null, error: null });

/**
 * Claims are JSON from the ID token, so comparing their serialisation is exact; an IdP that
 * reorders them costs one render, never a missed change.
 */
export function sameUser(a: AuthUser | null, b: AuthUser | null): boolean {
  return a === b || (a !== null && b !== null && JSON.stringify([a.sub, a.scopes, a.claims]) === JSON.stringify([b.sub, b.scopes, b.claims]));
}

function next(state: AuthSnapshot, status: AuthStatus, user: AuthUser | null, error: AuthError | null): AuthSnapshot {
  const keptUser = sameUser(state.user, user) ? state.user : user;
  if (state.status === status && state.user === keptUser && state.error === error) return state;
  return Object.freeze({ status, user: keptUser, error });
}

/** Every state change, in one pure function; returns `state` itself when nothing changed. */
export function reduce(state: AuthSnapshot, action: AuthAction): AuthSnapshot {
  switch (action.type) {
    case "restored":
      return next(state, action.user ? "authenticated" : "unauthenticated", action.user, null);
    case "pending":
      return next(state, "loading", action.user ?? state.user, action.error ?? null);
    case "signedIn":
    case "refreshed":
      // sameUser() keeps the old user object when a refresh changed no claim: no re-render.
      return next(state, "authenticated", action.user, null);
    case "failed":
      // A failed sign-in keeps an existing session usable; without one, the failure is the state.
      return state.user ? next(state, "authenticated", state.user, action.error) : next(state, "error", null, action.error);
    case "signedOut":
      return next(state, "unauthenticated", null, action.error ?? null);
  }
}
