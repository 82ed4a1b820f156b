import * as oauth from "oauth4webapi";
import { AuthError, AuthErrorCode, oauthError } from "../shared/AuthError.js";
import { parseRetryAfter, readOAuthError, REFUSED_HEADER } from "../shared/http.js";

/** Statuses that a server in the way (a wrong `tokenProxy` path, a static host) answers with, and an OAuth token endpoint does not. */
const PROXY_STATUSES = new Set([403, 404, 405, 413, 415]);

/**
 * A stand-in for the library error as `cause`: its own `cause` can hold the whole response
 * body, tokens included, and must never reach a log.
 */
function safeCause(err: Error): Error {
  return Object.assign(new Error(err.message), { name: err.name, code: (err as { code?: unknown }).code });
}

function httpFailure(response: Response, who: string, viaProxy: boolean, body: Record<string, unknown> | undefined, cause: Error): AuthError {
  const status = response.status;
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
  // The proxy marks its own refusals; an IdP error it relays keeps the IdP's code and description.
  const refused = response.headers.has(REFUSED_HEADER);
  if (viaProxy && (refused || (!body && PROXY_STATUSES.has(status)))) {
    const reason = typeof body?.error_description === "string" ? `: ${body.error_description.slice(0, 200)}` : "";
    return new AuthError(
      AuthErrorCode.ProxyRejected,
      `The token proxy refused the request (HTTP ${status})${reason}. Check ${refused ? "its allowedOrigins, redirectUris and clientId" : '"tokenProxy"'}.`,
      { status, error: typeof body?.error === "string" ? body.error : undefined, cause },
    );
  }
  if (body) return oauthError(body as { error: string }, viaProxy ? "The IdP (through the token proxy)" : who, { status, retryAfter, cause });
  return new AuthError(
    AuthErrorCode.InvalidResponse,
    `${who} answered HTTP ${status} without an OAuth response${status >= 500 ? "; try again later" : ""}.`,
    { status, retryAfter, cause },
  );
}

/** The error for a non-OK answer to a request made without oauth4webapi (the proxy's login and logout steps). */
export async function responseError(response: Response, who: string, viaProxy: boolean): Promise<AuthError> {
  return httpFailure(response, who, viaProxy, await readOAuthError(response), new Error(`HTTP ${response.status}`));
}

/**
 * Turns whatever a protocol step threw into an {@link AuthError} with a stable code, keeping the
 * HTTP status (so a final 4xx stays distinguishable from a transient 5xx, whatever the body).
 */
export async function mapError(err: unknown, who: string, viaProxy = false): Promise<AuthError> {
  if (err instanceof AuthError) return err;
  if (err instanceof oauth.AuthorizationResponseError) {
    return oauthError({ error: err.error, error_description: err.error_description }, "The IdP", { cause: safeCause(err) });
  }
  if (err instanceof oauth.ResponseBodyError) {
    return httpFailure(err.response, who, viaProxy, err.cause, safeCause(err));
  }
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    const challenge = err.cause[0]?.parameters;
    const body = challenge?.error ? { error: challenge.error, error_description: challenge.error_description } : undefined;
    return httpFailure(err.response, who, viaProxy, body, safeCause(err));
  }
  if (err instanceof oauth.OperationProcessingError || err instanceof oauth.UnsupportedOperationError) {
    const cause = safeCause(err);
    const detail = (err as { cause?: unknown }).cause;
    if (detail instanceof Response && !detail.ok) {
      return httpFailure(detail, who, viaProxy, await readOAuthError(detail), cause);
    }
    // iss in the callback (RFC 9207) or in the ID token: a mix-up attack, or a wrong "authority".
    if ((detail as { claim?: unknown } | null)?.claim === "iss" || /"iss"/.test(err.message)) {
      const d = detail as { expected?: unknown; claims?: { iss?: unknown }; parameters?: URLSearchParams } | undefined;
      const got = d?.claims?.iss ?? d?.parameters?.get?.("iss");
      // Both values, bounded: "localhost" against "127.0.0.1" is the classic, and it shows at a glance.
      const values = typeof got === "string" && typeof d?.expected === "string" ? ` (got ${JSON.stringify(got.slice(0, 100))}, expected ${JSON.stringify(d.expected)})` : "";
      return new AuthError(AuthErrorCode.IssuerMismatch, `The issuer (iss) is missing or not "authority"${values}: ${err.message}.`, { cause });
    }
    if (err.code === oauth.JWT_CLAIM_COMPARISON || err.code === oauth.JWT_TIMESTAMP_CHECK) {
      return new AuthError(AuthErrorCode.InvalidIdToken, `The ID token was rejected: ${err.message}.`, { cause });
    }
    return new AuthError(AuthErrorCode.InvalidResponse, `${who} sent an invalid response: ${err.message}.`, { cause });
  }
  return new AuthError(AuthErrorCode.InvalidResponse, `${who}: unexpected failure.`, { cause: err instanceof Error ? safeCause(err) : undefined });
}
