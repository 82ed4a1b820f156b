/** The shape of {@link AuthErrorCode}: one constant per code, named in PascalCase. */
export interface AuthErrorCodes {
  /** The configuration (or the IdP's discovery document) is wrong; the message names the field. */
  readonly Config: "config";
  /** The callback's `state` is missing or matches no login started in this browser. */
  readonly StateMismatch: "state_mismatch";
  /** The callback's `iss` (RFC 9207) or the ID token's `iss` is not the configured issuer. */
  readonly IssuerMismatch: "issuer_mismatch";
  /** This callback URL was already processed: the code is never exchanged twice. */
  readonly CallbackReplayed: "callback_replayed";
  /** The URL is not a well-formed authorization response (duplicated or implicit-flow parameters). */
  readonly InvalidCallback: "invalid_callback";
  /** The ID token failed validation (nonce, audience, expiry, subject). */
  readonly InvalidIdToken: "invalid_id_token";
  /** A server answered with something that is not a valid OAuth response (HTML, garbage JSON). */
  readonly InvalidResponse: "invalid_response";
  /** The IdP or the token proxy could not be reached, or did not answer in time. */
  readonly Network: "network";
  /** The app's token proxy refused the request (origin, method, route): check its configuration. */
  readonly ProxyRejected: "proxy_rejected";
  /** The client was disposed (its `<OAuthProvider>` unmounted): create a new one. */
  readonly Disposed: "disposed";
  /** There is no session: call `login()`. */
  readonly LoginRequired: "login_required";
  /** The session ended at the IdP (refresh token revoked, expired or reused): sign in again. */
  readonly SessionExpired: "session_expired";
  /** An OAuth error code from the IdP that none of the constants here names; see `error`. */
  readonly IdpError: "idp_error";
  readonly InvalidRequest: "invalid_request";
  readonly UnauthorizedClient: "unauthorized_client";
  readonly AccessDenied: "access_denied";
  readonly UnsupportedResponseType: "unsupported_response_type";
  readonly InvalidScope: "invalid_scope";
  readonly ServerError: "server_error";
  readonly TemporarilyUnavailable: "temporarily_unavailable";
  readonly InvalidClient: "invalid_client";
  readonly InvalidGrant: "invalid_grant";
  readonly UnsupportedGrantType: "unsupported_grant_type";
  readonly InteractionRequired: "interaction_required";
  readonly ConsentRequired: "consent_required";
  readonly AccountSelectionRequired: "account_selection_required";
  /** A resource server refused the access token (expired, revoked, foreign). @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 */
  readonly InvalidToken: "invalid_token";
  /** The access token lacks a scope the resource needs. @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 */
  readonly InsufficientScope: "insufficient_scope";
}

// One list, shipped once: the constants are derived from it ("state_mismatch" -> StateMismatch).
const CODES = "config state_mismatch issuer_mismatch callback_replayed invalid_callback invalid_id_token invalid_response network proxy_rejected disposed login_required session_expired idp_error invalid_request unauthorized_client access_denied unsupported_response_type invalid_scope server_error temporarily_unavailable invalid_client invalid_grant unsupported_grant_type interaction_required consent_required account_selection_required invalid_token insufficient_scope".split(" ");

/**
 * Stable error codes carried by every {@link AuthError}. Compare against these constants (or
 * their string values) rather than against messages, which may change.
 *
 * The IdP's own OAuth 2.0 / OpenID Connect error codes keep their names.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1 authorization errors
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 token errors
 * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthError OpenID Connect errors
 */
export const AuthErrorCode: AuthErrorCodes = Object.freeze(
  Object.fromEntries(CODES.map((code) => [code.replace(/(?:^|_)(\w)/g, (_, c: string) => c.toUpperCase()), code])),
) as unknown as AuthErrorCodes;

/** One of the {@link AuthErrorCode} values. */
export type AuthErrorCode = AuthErrorCodes[keyof AuthErrorCodes];

const KNOWN_CODES: ReadonlySet<string> = new Set(CODES);

/** Details attached to an {@link AuthError}. */
export interface AuthErrorOptions {
  /** The IdP's `error` value, as sent. */
  error?: string | undefined;
  /** The IdP's `error_description`: plain text, to be shown as text and never as HTML. */
  errorDescription?: string | undefined;
  /** The IdP's `error_uri`. */
  errorUri?: string | undefined;
  /** HTTP status of the response that failed, when there was one. */
  status?: number | undefined;
  /** Seconds the server asked us to wait (`Retry-After`), when it did. */
  retryAfter?: number | undefined;
  /** The `WWW-Authenticate` value for the answer, on the resource-server guard's errors. @see https://www.rfc-editor.org/rfc/rfc6750#section-3 */
  wwwAuthenticate?: string | undefined;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * The one error type of react-sso. `code` is stable and safe to branch on; `message` says what
 * went wrong and what to do, and never contains a token or a secret.
 */
export class AuthError extends Error {
  override readonly name = "AuthError";
  readonly code: AuthErrorCode;
  readonly error: string | undefined;
  readonly errorDescription: string | undefined;
  readonly errorUri: string | undefined;
  readonly status: number | undefined;
  readonly retryAfter: number | undefined;
  readonly wwwAuthenticate: string | undefined;

  constructor(code: AuthErrorCode, message: string, options: AuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.error = options.error;
    this.errorDescription = options.errorDescription;
    this.errorUri = options.errorUri;
    this.status = options.status;
    this.retryAfter = options.retryAfter;
    this.wwwAuthenticate = options.wwwAuthenticate;
  }

  /**
   * True when trying again later may succeed (network failure, timeout, 408, 429, 5xx,
   * `temporarily_unavailable`); false when the failure is final and the user must act.
   */
  get transient(): boolean {
    if (this.code === AuthErrorCode.Network || this.code === AuthErrorCode.TemporarilyUnavailable) {
      return true;
    }
    const status = this.status;
    return status === 408 || status === 429 || (status !== undefined && status >= 500);
  }
}

/** Throws the {@link AuthError} `code` with `message`: for checks that read as one line. */
export function fail(code: AuthErrorCode, message: string): never {
  throw new AuthError(code, message);
}

/** Maps an IdP-sent `error` string to our code: known codes keep their name, others become `idp_error`. */
export function codeFromOAuthError(error: string): AuthErrorCode {
  return KNOWN_CODES.has(error) ? (error as AuthErrorCode) : AuthErrorCode.IdpError;
}

/** `error_description` is IdP-controlled text: bound it and drop control characters before use. */
export function cleanDescription(value: unknown): string | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f]+/g, " ").slice(0, 500);
}

/** Builds the error for an OAuth error response (authorization or token endpoint). */
export function oauthError(
  fields: { error: string; error_description?: unknown; error_uri?: unknown },
  where: string,
  extra: Omit<AuthErrorOptions, "error" | "errorDescription" | "errorUri"> = {},
): AuthError {
  const description = cleanDescription(fields.error_description);
  const code = codeFromOAuthError(fields.error);
  const message =
    code === AuthErrorCode.AccessDenied
      ? `${where}: access was denied${description ? ` (${description})` : ""}.`
      : `${where} answered "${fields.error.slice(0, 100)}"${description ? `: ${description.replace(/\.$/, "")}` : ""}.`;
  return new AuthError(code, message, {
    ...extra,
    error: fields.error,
    errorDescription: description,
    errorUri: typeof fields.error_uri === "string" ? fields.error_uri : undefined,
  });
}
