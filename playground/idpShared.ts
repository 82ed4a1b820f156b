// Shared by the node-side IdP (idp.ts) and the jsdom-side helpers (idpControl.ts).
// Must stay free of oidc-provider imports: jsdom tests load it.

export const PUBLIC_CLIENT_ID = "spa-public";
export const CONFIDENTIAL_CLIENT_ID = "spa-confidential";
// Contains "+", "%" and ":" so a relay that skips the RFC 6749 §2.3.1 form-encoding
// before base64 is rejected (invalid_request / invalid_client) instead of passing by accident.
export const CONFIDENTIAL_CLIENT_SECRET = "spa-confidential+secret/with:special%chars";
export const REDIRECT_URI = "http://localhost:3000/callback";
export const POST_LOGOUT_REDIRECT_URI = "http://localhost:3000/";

/** A non-OpenID scope, so plain OAuth 2.0 requests (no `openid`) have something to ask for. */
export const API_SCOPES = ["api:read", "api:write"] as const;

export const TOKEN_FAULT_MODES = [
  "none",
  "down",
  "500-html",
  "503-json",
  "400-html",
  "400-empty",
  "hang",
] as const;

export type TokenFaultMode = (typeof TOKEN_FAULT_MODES)[number];

export interface IdpFault {
  token: TokenFaultMode;
  /** Seconds, sent as Retry-After on faults that produce an HTTP response. */
  retryAfter?: number;
  /** How many token requests to fault; omitted means until reset. */
  times?: number;
}

export interface TokenStats {
  authorization_code: number;
  refresh_token: number;
  client_credentials: number;
  other: number;
  total: number;
}

export interface IdpStats {
  token: TokenStats;
  /** Token requests that did not get a 2xx from oidc-provider, faulted ones included. */
  tokenErrors: number;
  discovery: number;
  authorization: number;
  revocation: number;
  endSession: number;
  jwks: number;
}

export const TEST_ROUTES = {
  stats: "/__test/stats",
  reset: "/__test/reset",
  fault: "/__test/fault",
} as const;

export function emptyStats(): IdpStats {
  return {
    token: { authorization_code: 0, refresh_token: 0, client_credentials: 0, other: 0, total: 0 },
    tokenErrors: 0,
    discovery: 0,
    authorization: 0,
    revocation: 0,
    endSession: 0,
    jwks: 0,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isTokenFaultMode(value: unknown): value is TokenFaultMode {
  return TOKEN_FAULT_MODES.some((mode) => mode === value);
}

/** Validates untrusted JSON into an IdpFault; throws with a reason a test author can act on. */
export function parseFault(value: unknown): IdpFault {
  if (!isRecord(value)) throw new TypeError("fault must be a JSON object");
  const { token, retryAfter, times } = value;
  if (!isTokenFaultMode(token)) {
    throw new TypeError(`fault.token must be one of ${TOKEN_FAULT_MODES.join(", ")}`);
  }
  const fault: IdpFault = { token };
  if (retryAfter !== undefined) {
    if (typeof retryAfter !== "number" || !Number.isInteger(retryAfter) || retryAfter < 0) {
      throw new TypeError("fault.retryAfter must be a non-negative integer (seconds)");
    }
    fault.retryAfter = retryAfter;
  }
  if (times !== undefined) {
    if (typeof times !== "number" || !Number.isInteger(times) || times < 1) {
      throw new TypeError("fault.times must be a positive integer");
    }
    fault.times = times;
  }
  return fault;
}
