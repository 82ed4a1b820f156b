import { AuthError } from "../shared/AuthError.js";

/** An answer to a request the guard refused: status, headers and a JSON `{ error, error_description }` body. */
export interface AuthFailure {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The answer for a failed {@link TokenVerifier.verify}: the error's status, `WWW-Authenticate`
 * (RFC 6750 §3) and `Retry-After`, never cached. An error without a status (the verifier's own
 * configuration is wrong) or of another kind gets a bare 500: its message is for the server's
 * logs, not for the caller.
 */
export function authFailure(err: unknown): AuthFailure {
  const headers: Record<string, string> = { "Content-Type": "application/json", "Cache-Control": "no-store" };
  if (!(err instanceof AuthError) || err.status === undefined) {
    return { status: 500, headers, body: JSON.stringify({ error: "server_error", error_description: "The access token could not be checked." }) };
  }
  if (err.wwwAuthenticate) headers["WWW-Authenticate"] = err.wwwAuthenticate;
  if (err.retryAfter !== undefined) headers["Retry-After"] = String(err.retryAfter);
  return { status: err.status, headers, body: JSON.stringify({ error: err.error ?? err.code, error_description: err.errorDescription }) };
}
