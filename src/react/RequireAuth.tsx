"use client";
import { useEffect, type ReactNode } from "react";
import type { AuthError, LoginOptions } from "../core/index.js";
import { useAuthContext } from "./AuthContext.js";
import { AuthErrorMessage } from "./AuthErrorMessage.js";
import { useAuth } from "./useAuth.js";

export interface RequireAuthProps {
  children?: ReactNode | undefined;
  /** Rendered while the session is loading and while the login redirect starts. @default null */
  fallback?: ReactNode | undefined;
  /** Render this instead of redirecting to the IdP when nobody is signed in. */
  onUnauthenticated?: (() => ReactNode) | undefined;
  /** Rendered when signing in failed. @default a short message with a "Try again" button */
  errorElement?: ((error: AuthError) => ReactNode) | undefined;
  /** Options for the login this guard starts; `returnTo` is always the current page. */
  loginOptions?: Omit<LoginOptions, "returnTo"> | undefined;
}

/**
 * Renders `children` only for a signed-in user; otherwise starts a login that returns to the
 * current page. It cannot loop: it waits while the status is `loading` (including on the
 * callback page), and the client never starts a second login while one is under way.
 */
export function RequireAuth({ children, fallback = null, onUnauthenticated, errorElement, loginOptions }: RequireAuthProps): ReactNode {
  const { client } = useAuthContext("<RequireAuth>");
  const { status, error } = useAuth();
  const redirect = status === "unauthenticated" && onUnauthenticated === undefined;

  useEffect(() => {
    const { pathname, search, hash } = window.location;
    // A failure is published on the snapshot (status "error"), which this component renders.
    if (redirect) client.login({ ...loginOptions, returnTo: pathname + search + hash }).catch(() => undefined);
    // loginOptions is read when the redirect starts; a new literal must not start another login.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [redirect, client]);

  if (status === "authenticated") return children;
  if (status === "unauthenticated" && onUnauthenticated) return onUnauthenticated();
  if (status === "error" && error) return errorElement ? errorElement(error) : <AuthErrorMessage error={error} />;
  return fallback;
}
