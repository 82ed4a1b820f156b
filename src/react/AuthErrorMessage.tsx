"use client";
import type { ReactNode } from "react";
import type { AuthError } from "../core/index.js";
import { useAuthContext } from "./AuthContext.js";

/** The default error UI of `<Callback>` and `<RequireAuth>`: what went wrong, and a way to try again. */
export function AuthErrorMessage({ error }: { error: AuthError }): ReactNode {
  const { client } = useAuthContext("<AuthErrorMessage>");
  const cancelled = error.code === "access_denied";
  return (
    <div role="alert" data-react-sso-error={error.code}>
      <p>
        <strong>{cancelled ? "Sign-in was cancelled." : "Sign-in failed."}</strong>
      </p>
      {/* The IdP's error_description is rendered as text, never as HTML. */}
      <p>{error.message}</p>
      {/* A new login, back to the current page (from the callback page, to "/"). A login that
          fails before leaving is published on the snapshot, as the "error" status. */}
      <button type="button" onClick={() => void client.login().catch(() => undefined)}>
        Try again
      </button>
    </div>
  );
}
