import type { AuthError } from "../shared/AuthError.js";
import type { AuthSnapshot, AuthUser } from "./authState.js";
import type { LoginOptions } from "./authorization.js";

export type { LoginOptions };

/** Options of {@link AuthClient.logout}. */
export interface LogoutOptions {
  /**
   * Same-origin path to open after signing out, when the IdP has no end-session endpoint.
   * With one, the IdP sends the browser to `postLogoutRedirectUri`.
   */
  returnTo?: string | undefined;
  /** End the session in this app only, without visiting the IdP. @default false */
  local?: boolean | undefined;
}

/** Options of {@link AuthClient.getAccessToken}. */
export interface TokenOptions {
  /**
   * Refresh first when the token expires within this many seconds.
   * @default 60, or half the token's lifetime when that is shorter
   */
  minValidity?: number | undefined;
  /** Refresh even when the token looks valid, e.g. after the API rejected it. @default false */
  forceRefresh?: boolean | undefined;
}

/** What {@link AuthClient.on} listeners receive. Times are epoch milliseconds. */
export interface AuthEvents {
  /** A session began in this page: after a login, a restore through the token proxy, or a sign-in in another tab. */
  signedIn: { user: AuthUser; expiresAt: number | undefined };
  /** The access token was refreshed (here or in another tab). */
  refreshed: { user: AuthUser; expiresAt: number | undefined };
  /** The session ended, whatever the reason. */
  signedOut: Record<string, never>;
  /** The IdP refused a refresh: the session is over in every tab (followed by `signedOut`). */
  sessionExpired: { error: AuthError };
  /** Something failed: a login, a callback, a refresh or a restore (transient failures are retried). */
  error: { error: AuthError };
}

/** The engine behind `<OAuthProvider>`, usable without React. Create it with {@link createAuthClient}. */
export interface AuthClient {
  /** Sends the browser to the IdP to sign in (authorization code with PKCE S256, state and nonce). */
  login(options?: LoginOptions): Promise<void>;
  /**
   * Completes a login on the redirect page: checks the response, exchanges the code once, stores
   * the session, removes the response from the address bar, and resolves to the safe `returnTo`.
   * Calling it again for the same URL returns the same promise: the code is never sent twice.
   * @param url the callback URL @default window.location.href
   */
  handleCallback(url?: string): Promise<string>;
  /**
   * The current access token, refreshed first when it expires within `minValidity` seconds.
   * Any number of concurrent calls, in any number of tabs, share one refresh. Rejects with code
   * `login_required` when nobody is signed in; it never redirects by itself.
   */
  getAccessToken(options?: TokenOptions): Promise<string>;
  /**
   * `fetch` with `Authorization: Bearer <access token>`. On a 401 whose `WWW-Authenticate` says
   * `error="invalid_token"` it refreshes once and retries once, unless `init.body` is a stream,
   * which cannot be sent twice.
   * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1
   */
  authFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Ends the session in every tab and, unless `local`, at the IdP (RP-initiated logout) when it has an end-session endpoint. */
  logout(options?: LogoutOptions): Promise<void>;
  /** Calls `listener` after every change of {@link AuthClient.getSnapshot}. Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** The current state: immutable, and the same object until something a UI could show changes. */
  getSnapshot(): AuthSnapshot;
  /** Listens to one kind of event, e.g. to log refreshes or redirect on `sessionExpired`. Returns the unsubscribe function. */
  on<E extends keyof AuthEvents>(event: E, listener: (payload: AuthEvents[E]) => void): () => void;
  /**
   * Releases everything the client holds: its timers, its channel to the other tabs, its page
   * listeners. Idempotent; afterwards every method fails with code `disposed`. `<OAuthProvider>`
   * disposes the client it created when it unmounts.
   */
  dispose(): void;
}
