"use client";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { AuthError, AuthErrorCode } from "../core/index.js";
import { useAuthContext } from "./AuthContext.js";
import { AuthErrorMessage } from "./AuthErrorMessage.js";

export interface CallbackProps {
  /** Rendered while the sign-in completes. @default a short "Signing you in…" status line */
  loading?: ReactNode | undefined;
  /** Rendered when the sign-in fails. @default a short message with a "Try again" button */
  errorElement?: ((error: AuthError) => ReactNode) | undefined;
  /** Called with the safe same-origin `returnTo` instead of navigating there. */
  onSuccess?: ((returnTo: string) => void) | undefined;
}

/**
 * The redirect route's element. Completes the login (exactly one code exchange, also under
 * StrictMode and reloads), then navigates to where the user was.
 */
export function Callback({ loading, errorElement, onSuccess }: CallbackProps): ReactNode {
  const { client, navigate } = useAuthContext("<Callback>");
  const [error, setError] = useState<AuthError | null>(null);
  const onSuccessRef = useRef(onSuccess);
  useEffect(() => {
    onSuccessRef.current = onSuccess;
  });

  useEffect(() => {
    let active = true;
    // The client returns the same promise for the same callback URL, so StrictMode's second
    // effect run joins the first exchange instead of starting another.
    client.handleCallback().then(
      (returnTo) => {
        if (active) (onSuccessRef.current ?? navigate)(returnTo);
      },
      // The SDK's client rejects with AuthError only; a hand-made one may not.
      (err: unknown) => active && setError(err instanceof AuthError ? err : new AuthError(AuthErrorCode.InvalidResponse, String(err), { cause: err })),
    );
    return () => {
      active = false;
    };
  }, [client, navigate]);

  if (error) return errorElement ? errorElement(error) : <AuthErrorMessage error={error} />;
  return loading ?? <p role="status">Signing you in…</p>;
}
