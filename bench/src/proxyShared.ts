// What the proxy benchmark's processes agree on.
export const PROXY_CLIENT_ID = "bench-proxy";
export const PROXY_CLIENT_SECRET = "bench-proxy-secret+with/special:chars";
export const APP_ORIGIN = "http://127.0.0.1:3000";
export const REDIRECT_URI = `${APP_ORIGIN}/callback`;
/** A code the proxy bench makes up names the nonce of its login step after this prefix; the stub IdP signs an ID token with that nonce. */
export const NONCE_CODE_PREFIX = "nonce:";

export interface StubReady {
  issuer: string;
  tokenEndpoint: string;
  tokenEndpointWithIdToken: string;
  jwksUri: string;
}

export type ProxyPath = "passthrough" | "cookie" | "cookie-verify";

