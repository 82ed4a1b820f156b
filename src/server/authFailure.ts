import { AuthError } from "../shared/AuthError.js";

/** An answer to a request the guard refused: status, headers and a JSON `{ error, error_description }` body. */
export interface AuthFailure {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The answer for a failed {@link TokenVerifier.verify}: the error's status and `WWW-Authenticate`
 * (RFC 6750 §3), never cached. A failure of the verifier's own (the IdP down, a wrong
 * configuration) is told to the caller in general terms: the details are for the server's logs,
 * in the error's message.
 */
export function authFailure(err: unknown): AuthFailure {
  const known = err instanceof AuthError && err.status !== undefined && err.status < 500;
  const status = err instanceof AuthError && err.status !== undefined ? err.status : 500;
  const headers: Record<string, string> = { "Content-Type": "application/json", "Cache-Control": "no-store" };
  if (known && err.wwwAuthenticate) headers["WWW-Authenticate"] = err.wwwAuthenticate;
  if (status === 503 && err instanceof AuthError && err.retryAfter !== undefined) headers["Retry-After"] = String(err.retryAfter);
  const body = known
    ? { error: err.error ?? err.code, error_description: err.errorDescription ?? err.message }
    : status === 503
      ? { error: "temporarily_unavailable", error_description: "The access token cannot be checked right now; try again later." }
      : { error: "server_error", error_description: "The access token could not be checked." };
  return { status: known || status === 503 ? status : 500, headers, body: JSON.stringify(body) };
}
