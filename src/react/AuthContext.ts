"use client";
import { createContext, useContext } from "react";
import type { AuthClient } from "../core/index.js";

export interface AuthContextValue {
  client: AuthClient;
  /** In-app navigation: the provider's `navigate` prop, or history.replaceState plus popstate. */
  navigate: (to: string) => void;
}

export const AuthContext = createContext<AuthContextValue | null>(null);

export function useAuthContext(caller: string): AuthContextValue {
  const value = useContext(AuthContext);
  if (value === null) {
    throw new Error(
      `react-sso: ${caller} must be used inside <OAuthProvider>. Wrap your app root: <OAuthProvider config={…}><App /></OAuthProvider>.`,
    );
  }
  return value;
}
