"use client";
import { useRef, useSyncExternalStore } from "react";
import type { AuthClient, AuthError, AuthSnapshot, AuthStatus, AuthUser } from "../core/index.js";
import { LOADING } from "../core/authState.js";
import { useAuthContext } from "./AuthContext.js";

/** What {@link useAuth} returns. `login`, `logout`, `getAccessToken` and `authFetch` keep their identity for the life of the provider. */
export interface UseAuthResult {
  status: AuthStatus;
  /** `status === "authenticated"`. */
  isAuthenticated: boolean;
  /** `status === "loading"`: the session is being read or a callback is being processed. */
  isLoading: boolean;
  user: AuthUser | null;
  error: AuthError | null;
  login: AuthClient["login"];
  logout: AuthClient["logout"];
  getAccessToken: AuthClient["getAccessToken"];
  authFetch: AuthClient["authFetch"];
}

const getServerSnapshot = (): AuthSnapshot => LOADING;

function resultOf(snapshot: AuthSnapshot, { login, logout, getAccessToken, authFetch }: AuthClient): UseAuthResult {
  const { status } = snapshot;
  return { ...snapshot, isAuthenticated: status === "authenticated", isLoading: status === "loading", login, logout, getAccessToken, authFetch };
}

/**
 * The auth state and actions. Re-renders only when the status, the user's claims or the error
 * change: a token refresh that changes no claim re-renders nothing, and tokens are never React
 * state. With a `selector`, the component re-renders only when the selected value changes
 * (compared with `Object.is`), e.g. `useAuth((a) => a.user?.claims.name)`.
 */
export function useAuth(): UseAuthResult;
export function useAuth<T>(selector: (auth: UseAuthResult) => T): T;
export function useAuth<T>(selector?: (auth: UseAuthResult) => T): T | UseAuthResult {
  const { client } = useAuthContext("useAuth()");
  // The last selection: the same snapshot and selector give the same value, and an equal value
  // keeps the old one, so React sees nothing to render.
  const memo = useRef<{ snapshot: AuthSnapshot; selector: typeof selector; value: T | UseAuthResult } | null>(null);
  const read = (snapshot: AuthSnapshot) => {
    const last = memo.current;
    if (last && last.snapshot === snapshot && last.selector === selector) return last.value;
    const full = resultOf(snapshot, client);
    const value = selector ? selector(full) : full;
    memo.current = { snapshot, selector, value: last && Object.is(last.value, value) ? last.value : value };
    return memo.current.value;
  };
  return useSyncExternalStore(client.subscribe, () => read(client.getSnapshot()), () => read(getServerSnapshot()));
}

/** `fetch` with the access token attached, refreshed and retried once on `invalid_token`; see {@link AuthClient.authFetch}. Never re-renders. */
export function useAuthFetch(): AuthClient["authFetch"] {
  return useAuthContext("useAuthFetch()").client.authFetch;
}
