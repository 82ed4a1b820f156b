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
}
