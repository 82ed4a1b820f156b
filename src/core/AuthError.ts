/**
 * Stable error codes carried by every {@link AuthError}. Compare against these constants (or
 * their string values) rather than against messages, which may change.
 *
 * The IdP's own OAuth 2.0 / OpenID Connect error codes keep their names.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1 authorization errors
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 token errors
 * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthError OpenID Connect errors
 */
export const AuthErrorCode = {
  /** The configuration (or the IdP's discovery document) is wrong; the message names the field. */
  Config: "config",
  /** The callback's `state` is missing or matches no login started in this browser. */
  StateMismatch: "state_mismatch",
  /** The callback's `iss` (RFC 9207) or the ID token's `iss` is not the configured issuer. */
  IssuerMismatch: "issuer_mismatch",
  /** This callback URL was already processed: the code is never exchanged twice. */
  CallbackReplayed: "callback_replayed",
  /** The URL is not a well-formed authorization response (duplicated or implicit-flow parameters). */
  InvalidCallback: "invalid_callback",
  /** The ID token failed validation (nonce, audience, expiry, subject). */
  InvalidIdToken: "invalid_id_token",
  /** A server answered with something that is not a valid OAuth response (HTML, garbage JSON). */
  InvalidResponse: "invalid_response",
  /** The IdP or the token proxy could not be reached, or did not answer in time. */
  Network: "network",
  /** The app's token proxy refused the request (origin, method, route): check its configuration. */
  ProxyRejected: "proxy_rejected",
  /** There is no session: call `login()`. */
  LoginRequired: "login_required",
  /** The session ended at the IdP (refresh token revoked, expired or reused): sign in again. */
  SessionExpired: "session_expired",
  /** An OAuth error code from the IdP that none of the constants here names; see `error`. */
  IdpError: "idp_error",
  InvalidRequest: "invalid_request",
  UnauthorizedClient: "unauthorized_client",
  AccessDenied: "access_denied",
  UnsupportedResponseType: "unsupported_response_type",
  InvalidScope: "invalid_scope",
  ServerError: "server_error",
  TemporarilyUnavailable: "temporarily_unavailable",
  InvalidClient: "invalid_client",
  InvalidGrant: "invalid_grant",
  UnsupportedGrantType: "unsupported_grant_type",
  InteractionRequired: "interaction_required",
  ConsentRequired: "consent_required",
  AccountSelectionRequired: "account_selection_required",
} as const;

/** One of the {@link AuthErrorCode} values. */
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(AuthErrorCode));

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

  constructor(code: AuthErrorCode, message: string, options: AuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.error = options.error;
    this.errorDescription = options.errorDescription;
    this.errorUri = options.errorUri;
    this.status = options.status;
    this.retryAfter = options.retryAfter;
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
      ? `${where}: access was denied${description ? ` (${description})` : ""}. The user cancelled or is not allowed to sign in.`
      : `${where} answered "${fields.error.slice(0, 100)}"${description ? `: ${description}` : ""}.`;
  return new AuthError(code, message, {
    ...extra,
    error: fields.error,
    errorDescription: description,
    errorUri: typeof fields.error_uri === "string" ? fields.error_uri : undefined,
  });
}
