/** What the browser and the token proxy agree on over HTTP, and how both read an IdP's answers. */

/** The header every react-sso request to the token proxy carries: requiring it forces a CORS preflight for any cross-origin sender. */
export const PROXY_HEADER = "x-react-sso";

/**
 * Marks the proxy's own refusals (origin, method, body, parameters: nothing was asked of the IdP),
 * so that the browser can tell them from the IdP's errors, which the proxy relays unmarked.
 */
export const REFUSED_HEADER = "x-react-sso-refused";

/** Seconds from a Retry-After header (delta-seconds or HTTP-date). */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  // Otherwise only an HTTP-date (RFC 9110 §10.2.3), which always names a month or a weekday.
  if (!/[a-z]{3}/i.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** An OAuth error body (RFC 6749 §5.2): its `error` and whatever else the server put beside it. */
export type OAuthErrorBody = { error: string; error_description?: unknown } & Record<string, unknown>;

/**
 * The OAuth error object in a body, whatever its content type claims (some servers send it as
 * text/plain or text/html); undefined when there is none. Reading the error code anyway only
 * improves the message: it never turns a failure into a success.
 */
export async function readOAuthError(response: Response): Promise<OAuthErrorBody | undefined> {
  try {
    const body: unknown = JSON.parse(await response.text());
    const error = (body as { error?: unknown } | null)?.error;
    return typeof error === "string" && error !== "" ? (body as OAuthErrorBody) : undefined;
  } catch {
    return undefined;
  }
}
