/// <reference types="vite/client" />

// Injected by the playground launcher (playground/start.ts) through Vite's `define`. Optional
// here because a bare `vite playground/app` has none of them: main.tsx then shows a config error.
interface ImportMetaEnv {
  /** The IdP's issuer URL, e.g. `http://127.0.0.1:4000`. */
  readonly VITE_SSO_AUTHORITY?: string;
  /** The client ID registered at the IdP. */
  readonly VITE_SSO_CLIENT_ID?: string;
  /** Space-separated scopes. @default "openid profile email offline_access" */
  readonly VITE_SSO_SCOPE?: string;
  /** The resource indicator (RFC 8707) the login names, or "" for none. */
  readonly VITE_SSO_RESOURCE?: string;
  /** The audience the backend's guard accepts on /api/*, or "" when /api/me asks the IdP's userinfo endpoint instead. */
  readonly VITE_API_AUDIENCE?: string;
  /** The reports service's URL, or "" when none runs (with a real IdP). */
  readonly VITE_REPORTS_SERVICE?: string;
}
