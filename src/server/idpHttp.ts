import * as oauth from "oauth4webapi";
import { AuthError, AuthErrorCode, cleanDescription, oauthError } from "../shared/AuthError.js";
import { parseRetryAfter, readOAuthError } from "../shared/http.js";
import { isLoopback } from "../shared/urls.js";
import { loggableEndpoint, tracedFetch, type DebugSink } from "./debug.js";

/** How every request to the IdP is made: one `fetch`, one timeout, one debug sink. */
export interface IdpHttp {
  /** The configured fetch, traced, with failures turned into `network` AuthErrors. */
  readonly fetch: typeof fetch;
  /** The transport options every oauth4webapi request takes. */
  options(): {
    signal: () => AbortSignal;
    [oauth.customFetch]: (url: string, init: oauth.CustomFetchOptions<string, unknown>) => Promise<Response>;
    [oauth.allowInsecureRequests]: boolean;
  };
}

/** True for the URLs react-sso may send credentials to: https, or plain http on a loopback host. */
export function isSafeEndpoint(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname));
  } catch {
    return false;
  }
}

export function createIdpHttp(baseFetch: typeof fetch | undefined, timeoutMs: number, debug: DebugSink | undefined): IdpHttp {
  const traced = tracedFetch(baseFetch ?? ((input, init) => globalThis.fetch(input, init)), debug);
  const guarded: typeof fetch = async (input, init) => {
    try {
      return await traced(input, init);
    } catch (err) {
      const url = typeof input === "string" ? input : "href" in input ? input.href : input.url;
      const timedOut = (err as { name?: unknown } | null)?.name === "TimeoutError";
      // The cause is the runtime's own error (ECONNREFUSED and the like): no request content.
      throw new AuthError(
        AuthErrorCode.Network,
        timedOut
          ? `The identity provider did not answer within ${timeoutMs} ms (${loggableEndpoint(url)}).`
          : `The identity provider could not be reached (${loggableEndpoint(url)}).`,
        { cause: err },
      );
    }
  };
  return {
    fetch: guarded,
    options: () => ({
      signal: () => AbortSignal.timeout(timeoutMs),
      // oauth4webapi hands over a RequestInit whose absent body is `undefined`.
      [oauth.customFetch]: (url, init) => guarded(url, init as RequestInit),
      // Every URL is checked by isSafeEndpoint first: this only lets loopback http through.
      [oauth.allowInsecureRequests]: true,
    }),
  };
}

/** Seconds from a response's Retry-After header. */
export const retryAfterOf = (response: Response): number | undefined => parseRetryAfter(response.headers.get("retry-after"));

function httpFailure(response: Response, who: string, body: { error: string; error_description?: unknown } | undefined): AuthError {
  const status = response.status;
  const retryAfter = retryAfterOf(response);
  if (body) return oauthError(body, who, { status, retryAfter });
  return new AuthError(
    AuthErrorCode.InvalidResponse,
    `${who} answered HTTP ${status} without an OAuth error${status >= 500 || status === 429 || status === 408 ? "; try again later" : ""}.`,
    { status, retryAfter },
  );
}

/**
 * Turns what an oauth4webapi step threw into an {@link AuthError} that keeps the IdP's `error`,
 * `error_description` and HTTP status. oauth4webapi's own errors are never kept as `cause`: they
 * can hold the whole response, tokens included.
 * @param who names the endpoint in messages, e.g. "The token endpoint"
 */
export async function toAuthError(err: unknown, who: string): Promise<AuthError> {
  if (err instanceof AuthError) return err;
  if (err instanceof oauth.ResponseBodyError) {
    return httpFailure(err.response, who, { error: err.error, error_description: err.error_description });
  }
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    const parameters = err.cause[0]?.parameters;
    const body = (await readOAuthError(err.response)) ?? (parameters?.error ? { error: parameters.error, error_description: parameters.error_description } : undefined);
    return httpFailure(err.response, who, body);
  }
  if (err instanceof oauth.OperationProcessingError || err instanceof oauth.UnsupportedOperationError) {
    const detail = (err as { cause?: unknown }).cause;
    if (detail instanceof Response && !detail.ok) return httpFailure(detail, who, await readOAuthError(detail));
    // The only JWTs oauth4webapi checks for us are ID tokens (nonce, iss, aud, azp, exp, iat).
    if (err.code === oauth.JWT_CLAIM_COMPARISON || err.code === oauth.JWT_TIMESTAMP_CHECK) {
      return new AuthError(AuthErrorCode.InvalidIdToken, `${who} sent an ID token that was refused: ${cleanDescription(err.message) ?? "invalid claims"}.`);
    }
    if (err.code === oauth.HTTP_REQUEST_FORBIDDEN || err.code === oauth.REQUEST_PROTOCOL_FORBIDDEN) {
      return new AuthError(AuthErrorCode.Config, `${who} is not an https URL (plain http only on loopback hosts).`);
    }
    // oauth4webapi's messages name the field that failed and hold no value from the response.
    return new AuthError(AuthErrorCode.InvalidResponse, `${who} sent an invalid response: ${cleanDescription(err.message) ?? "unknown problem"}.`);
  }
  return new AuthError(AuthErrorCode.InvalidResponse, `${who}: unexpected failure (${err instanceof Error ? err.name : typeof err}).`);
}
