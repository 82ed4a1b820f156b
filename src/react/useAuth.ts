"use client";
import { useMemo, useSyncExternalStore } from "react";
import type { AuthClient, AuthError, AuthSnapshot, AuthStatus, AuthUser } from "../core/index.js";
import { LOADING } from "../core/authState.js";
import { useAuthContext } from "./AuthContext.js";

/** What {@link useAuth} returns. `login`, `logout` and `getAccessToken` keep their identity for the life of the provider. */
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
}

const getServerSnapshot = (): AuthSnapshot => LOADING;

/**
 * The auth state and actions. Re-renders only when the status, the user's claims or the error
 * change: a token refresh that changes no claim re-renders nothing. Tokens are never React state.
 */
export function useAuth(): UseAuthResult {
  const { client } = useAuthContext("useAuth()");
  const snapshot = useSyncExternalStore(client.subscribe, client.getSnapshot, getServerSnapshot);
  return useMemo(
    () => ({
      status: snapshot.status,
      isAuthenticated: snapshot.status === "authenticated",
      isLoading: snapshot.status === "loading",
      user: snapshot.user,
      error: snapshot.error,
      login: client.login,
      logout: client.logout,
      getAccessToken: client.getAccessToken,
    }),
    [snapshot, client],
  );
}
