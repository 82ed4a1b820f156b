import * as oauth from "oauth4webapi";
import { AuthError, AuthErrorCode } from "./AuthError.js";
import { LOADING, reduce, type AuthEvent, type AuthSnapshot, type AuthUser } from "./authState.js";
import { resolveConfig, stringRecord, type AuthConfig, type StorageLike } from "./config.js";
import { readParams } from "./extractQueryParams.js";
import { mapError } from "./mapError.js";
import { sanitizeReturnTo } from "./sanitizeReturnTo.js";
import { readSession, toSession, type Session } from "./session.js";
import { readJson, resolveStorage, webStorage, writeJson } from "./storage.js";

/** Options of {@link AuthClient.login}. */
export interface LoginOptions {
  /**
   * Same-origin path to come back to after signing in. Anything else (another origin, `//host`,
   * `javascript:`…) is replaced by `"/"`.
   * @default the current page
   */
  returnTo?: string;
  /** Extra authorization parameters for this login only, e.g. `{ prompt: "login", login_hint: "ada" }`. */
  extraParams?: Readonly<Record<string, string>>;
}

/** Options of {@link AuthClient.logout}. */
export interface LogoutOptions {
  /**
   * Same-origin path to open after signing out, when the IdP has no end-session endpoint.
   * With one, the IdP sends the browser to `postLogoutRedirectUri`.
   */
  returnTo?: string;
  /** End the session in this app only, without visiting the IdP. @default false */
  local?: boolean;
}

/** What {@link AuthClient.on} listeners receive. Times are epoch milliseconds. */
export interface AuthEvents {
  /** A session began in this page: after a login, or restored through the token proxy's cookie. */
  signedIn: { user: AuthUser; expiresAt: number | undefined };
  /** The access token was refreshed. */
  refreshed: { user: AuthUser; expiresAt: number | undefined };
  /** The session ended, whatever the reason. */
  signedOut: Record<string, never>;
  /** The IdP refused a refresh: the session is over (followed by `signedOut`). */
  sessionExpired: { error: AuthError };
  /** Something failed: a login, a callback, a refresh. */
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
   * The current access token, refreshed first when it expires within 60 seconds. Rejects with
   * code `login_required` when nobody is signed in; never redirects by itself.
   */
  getAccessToken(): Promise<string>;
  /** Ends the session here and, unless `local`, at the IdP (RP-initiated logout) when it has an end-session endpoint. */
  logout(options?: LogoutOptions): Promise<void>;
  /** Calls `listener` after every change of {@link AuthClient.getSnapshot}. Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** The current state: immutable, and the same object until something a UI could show changes. */
  getSnapshot(): AuthSnapshot;
  /** Listens to one kind of event, e.g. to log refreshes or redirect on `sessionExpired`. Returns the unsubscribe function. */
  on<E extends keyof AuthEvents>(event: E, listener: (payload: AuthEvents[E]) => void): () => void;
}

/** A login in flight, kept in sessionStorage under its state because it must survive the redirect. */
interface Transaction {
  verifier: string;
  nonce: string | undefined;
  returnTo: string;
  redirectUri: string;
  clientId: string;
  authority: string;
  created: number;
}

const LEEWAY_MS = 60_000;
const TX_PREFIX = "react-sso.tx.";
const TX_MAX_AGE_MS = 15 * 60_000;
const CONSUMED_KEY = "react-sso.consumed";
const CALLBACK_PARAMS = ["code", "state", "iss", "session_state", "error", "error_description", "error_uri"];
/** Only the implicit and hybrid flows put these in a redirect; react-sso refuses them. */
const IMPLICIT_PARAMS = ["access_token", "id_token", "token"];

function origin(): string {
  return globalThis.location?.origin ?? "null";
}

function userOf(session: Session): AuthUser {
  return Object.freeze({ sub: session.sub, claims: session.claims, scopes: session.scopes });
}

function fail(code: AuthErrorCode, message: string): never {
  throw new AuthError(code, message);
}

/**
 * Creates the engine. Validates the configuration at once (throwing {@link AuthError} with code
 * `config`), but touches no browser API until first used, so it is safe during server rendering.
 */
export function createAuthClient(config: AuthConfig): AuthClient {
  const cfg = resolveConfig(config);
  const openid = cfg.openid;
  const viaProxy = cfg.tokenProxy !== undefined;
  const tokenWho = viaProxy ? "The token proxy" : "The IdP's token endpoint";
  const storageKey = `react-sso.session:${cfg.authority}:${cfg.clientId}`;
  /** Set while the proxy's cookie holds a session: tells a reload (or a new tab) that restoring is worth a request. */
  const hintKey = `react-sso.proxy-session:${cfg.authority}:${cfg.clientId}`;
  const client: oauth.Client = { client_id: cfg.clientId };

  let started = false;
  let storage: StorageLike | undefined;
  let txStorage: Storage | StorageLike | undefined;
  let sharedStorage: StorageLike | undefined;
  let session: Session | undefined;
  let snapshot: AuthSnapshot = LOADING;
  const listeners = new Set<() => void>();
  const handlers = new Map<keyof AuthEvents, Set<(payload: never) => void>>();
  let server: Promise<oauth.AuthorizationServer> | undefined;
  const callbacks = new Map<string, Promise<string>>();
  /** A callback or a restore in progress: getAccessToken waits for it instead of answering "nobody". */
  let settling: Promise<unknown> | undefined;
  let pendingLogin: Promise<void> | undefined;
  /** Set once the browser is on its way to the IdP: the page is leaving, so no second login. */
  let leaving = false;
  let refreshing: Promise<Session> | undefined;

  /** Options for every oauth4webapi request: our fetch, a timeout, the proxy's header and cookies. */
  function requestOptions(url: string | undefined, toProxy: boolean, who: string) {
    const doFetch = cfg.fetch ?? globalThis.fetch;
    return {
      signal: AbortSignal.timeout(cfg.timeoutMs),
      // http is accepted for loopback hosts (config enforces it) and for a same-origin proxy in development.
      [oauth.allowInsecureRequests]: url?.startsWith("http:"),
      // A custom header makes the request non-simple: no cross-site page can send it without a
      // CORS preflight, which the proxy refuses (OAuth 2.0 for Browser-Based Apps, BFF section).
      headers: (toProxy ? { "X-React-SSO": "1" } : {}) as Record<string, string>,
      [oauth.customFetch]: async (input: string, init: RequestInit) => {
        try {
          return await doFetch(input, { ...init, credentials: toProxy ? "include" : "omit" });
        } catch (cause) {
          const late = (cause as Error | undefined)?.name === "TimeoutError";
          throw new AuthError(
            AuthErrorCode.Network,
            `${who} ${late ? `did not answer within ${cfg.timeoutMs} ms` : "could not be reached"}. Check the connection and that the server is up.`,
            { cause },
          );
        }
      },
    };
  }

  function dispatch(event: AuthEvent): void {
    const next = reduce(snapshot, event);
    if (next === snapshot) return;
    snapshot = next;
    for (const listener of [...listeners]) listener();
  }

  function emit<E extends keyof AuthEvents>(event: E, payload: AuthEvents[E]): void {
    for (const handler of [...(handlers.get(event) ?? [])]) {
      try {
        (handler as (p: AuthEvents[E]) => void)(payload);
      } catch (err) {
        // An app's listener must not break sign-in; its error still surfaces, outside our flow.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  function setSession(next: Session | undefined): void {
    session = next;
    if (!storage) return;
    if (next) writeJson(storage, storageKey, next);
    else storage.removeItem(storageKey);
    if (next && viaProxy && !next.refreshToken) sharedStorage?.setItem(hintKey, "1");
    else if (!next) sharedStorage?.removeItem(hintKey);
  }

  function isCallbackUrl(href: string): boolean {
    const url = new URL(href);
    const redirect = new URL(cfg.redirectUri);
    if (url.origin + url.pathname !== redirect.origin + redirect.pathname) return false;
    const { params } = readParams(url, cfg.responseMode);
    return params.has("state") && (params.has("code") || params.has("error"));
  }

  function start(): void {
    if (started || typeof window === "undefined") return;
    started = true;
    storage = resolveStorage(cfg.storage);
    txStorage = webStorage("session");
    sharedStorage = webStorage("local");
    const stored = readSession(readJson(storage, storageKey));
    const usable = stored && (stored.expiresAt === undefined || stored.expiresAt > Date.now() || stored.refreshToken);
    session = usable ? stored : undefined;
    if (stored && !usable) storage.removeItem(storageKey);
    // Back from the IdP through the back/forward cache: the page did not leave after all.
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) leaving = false;
    });
    if (isCallbackUrl(window.location.href)) {
      // Stay "loading" until the callback settles, so that no guard sees "unauthenticated" and logs in again.
      snapshot = Object.freeze({ status: "loading", user: session ? userOf(session) : null, error: null });
      return;
    }
    if (!session && viaProxy && sharedStorage.getItem(hintKey)) {
      // The session lives in the proxy's cookie: one refresh through the proxy brings it back.
      snapshot = LOADING;
      settling = restore();
      return;
    }
    dispatch({ type: "restored", user: session ? userOf(session) : null });
  }

  async function restore(): Promise<void> {
    try {
      const next = await tokenRequest(undefined);
      setSession(next);
      dispatch({ type: "restored", user: userOf(next) });
      emit("signedIn", { user: userOf(next), expiresAt: next.expiresAt });
    } catch (err) {
      const error = await mapError(err, tokenWho, viaProxy);
      // No cookie, or a dead one: simply nobody signed in. Only a transient failure is worth showing.
      if (error.transient) report(error);
      else endSession();
    }
  }

  function openUrl(url: string): void {
    if (cfg.openUrl) return cfg.openUrl(url);
    leaving = true;
    window.location.assign(url);
  }

  function authorizationServer(): Promise<oauth.AuthorizationServer> {
    server ??= (async () => {
      let as: oauth.AuthorizationServer;
      const e = cfg.endpoints;
      if (e) {
        as = {
          issuer: cfg.authority,
          authorization_endpoint: e.authorization,
          token_endpoint: e.token,
          end_session_endpoint: e.endSession,
          revocation_endpoint: e.revocation,
          userinfo_endpoint: e.userinfo,
        };
      } else {
        const issuer = new URL(cfg.authority);
        const who = "The IdP's discovery document";
        try {
          as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, requestOptions(cfg.authority, false, who)));
        } catch (err) {
          if (err instanceof oauth.OperationProcessingError && err.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
            fail(AuthErrorCode.Config, `${who} names another issuer than "authority" (${cfg.authority}): set authority to the IdP's issuer exactly.`);
          }
          const error = await mapError(err, who);
          if (error.status !== undefined && error.status < 500) {
            fail(AuthErrorCode.Config, `${who} at ${cfg.authority}/.well-known/openid-configuration answered HTTP ${error.status}: check "authority", or set "endpoints" for a server without discovery.`);
          }
          throw error;
        }
        const methods = as.code_challenge_methods_supported;
        // RFC 8414 lets servers omit the list; a list without S256 would mean a downgrade, which we refuse.
        if (Array.isArray(methods) && !methods.includes("S256")) {
          fail(AuthErrorCode.Config, 'The IdP does not support PKCE with S256; react-sso never falls back to "plain".');
        }
      }
      if (cfg.tokenProxy) as = { ...as, token_endpoint: new URL(cfg.tokenProxy, origin()).href };
      if (!as.token_endpoint) fail(AuthErrorCode.Config, 'The IdP advertises no token endpoint: set "tokenProxy" or "endpoints.token".');
      return as;
    })();
    // A failed discovery (IdP down) is not cached: the next call tries again.
    server.catch(() => {
      server = undefined;
    });
    return server;
  }

  function removeStaleTransactions(storageArea: Storage | StorageLike): void {
    if (!("length" in storageArea) || typeof storageArea.key !== "function") return;
    for (let i = storageArea.length - 1; i >= 0; i--) {
      const key = storageArea.key(i);
      if (!key?.startsWith(TX_PREFIX)) continue;
      const tx = readJson(storageArea, key) as Partial<Transaction> | undefined;
      if (!tx || typeof tx.created !== "number" || Date.now() - tx.created > TX_MAX_AGE_MS) storageArea.removeItem(key);
    }
  }

  async function login(options: LoginOptions = {}): Promise<void> {
    start();
    // A programming error, not a failed login: thrown as is, without changing the status.
    const extra = { ...cfg.extraAuthorizeParams, ...stringRecord("login({ extraParams })", options.extraParams) };
    if (leaving) return;
    pendingLogin ??= (async () => {
      try {
        const here = window.location;
        // Coming back to the callback page itself would find nothing to complete there.
        const onCallbackPage = here.origin + here.pathname === new URL(cfg.redirectUri).origin + new URL(cfg.redirectUri).pathname;
        const returnTo = sanitizeReturnTo(options.returnTo ?? (onCallbackPage ? "/" : here.pathname + here.search + here.hash), origin());
        const as = await authorizationServer();
        const verifier = oauth.generateRandomCodeVerifier();
        const state = oauth.generateRandomState();
        const nonce = openid ? oauth.generateRandomNonce() : undefined;
        const url = new URL(as.authorization_endpoint ?? fail(AuthErrorCode.Config, "The IdP advertises no authorization endpoint."));
        const params = url.searchParams;
        for (const [key, value] of Object.entries(extra)) params.set(key, value);
        params.set("client_id", cfg.clientId);
        params.set("redirect_uri", cfg.redirectUri);
        params.set("response_type", "code");
        params.set("scope", cfg.scope);
        params.set("state", state);
        params.set("code_challenge", await oauth.calculatePKCECodeChallenge(verifier));
        params.set("code_challenge_method", "S256");
        if (nonce) params.set("nonce", nonce);
        if (cfg.responseMode === "fragment") params.set("response_mode", "fragment");

        const tx: Transaction = {
          verifier,
          nonce,
          returnTo,
          redirectUri: cfg.redirectUri,
          clientId: cfg.clientId,
          authority: cfg.authority,
          created: Date.now(),
        };
        const area = txStorage ?? webStorage("session");
        removeStaleTransactions(area);
        writeJson(area, TX_PREFIX + state, tx);
        openUrl(url.href);
      } catch (err) {
        throw report(await mapError(err, "The IdP"));
      } finally {
        pendingLogin = undefined;
      }
    })();
    return pendingLogin;
  }

  function consumedStates(area: StorageLike): string[] {
    const value = readJson(area, CONSUMED_KEY);
    return Array.isArray(value) ? value.filter((s): s is string => typeof s === "string") : [];
  }

  /** Removes the authorization response from the address bar, keeping the app's own parameters. */
  function cleanAddressBar(href: string): void {
    if (typeof window === "undefined" || window.location.href !== href) return;
    const url = new URL(href);
    const params = cfg.responseMode === "fragment" ? new URLSearchParams(url.hash.slice(1)) : url.searchParams;
    for (const name of CALLBACK_PARAMS) params.delete(name);
    if (cfg.responseMode === "fragment") url.hash = params.toString();
    window.history.replaceState(window.history.state, "", url.href);
  }

  async function processCallback(href: string): Promise<string> {
    const { params, duplicates } = readParams(href, cfg.responseMode);
    if (duplicates.length > 0) {
      fail(AuthErrorCode.InvalidCallback, `The callback URL repeats "${duplicates[0]}" and was refused: it may have been tampered with.`);
    }
    const query = readParams(href, "query").params;
    const fragment = readParams(href, "fragment").params;
    const implicit = IMPLICIT_PARAMS.find((name) => query.has(name) || fragment.has(name));
    if (implicit) {
      fail(AuthErrorCode.InvalidCallback, `The callback URL carries "${implicit}", which only the implicit flow sends; react-sso refuses it.`);
    }
    const state = params.get("state");
    if (!state) fail(AuthErrorCode.StateMismatch, "The callback URL has no state: it answers no login started here.");
    const area = txStorage ?? webStorage("session");
    const tx = readJson(area, TX_PREFIX + state) as Transaction | undefined;
    if (!tx) {
      if (consumedStates(area).includes(state)) {
        fail(AuthErrorCode.CallbackReplayed, "This sign-in response was already used; it is never exchanged twice. Sign in again if needed.");
      }
      fail(AuthErrorCode.StateMismatch, "The callback's state matches no login started in this tab (expired, or from elsewhere). Sign in again.");
    }
    // One attempt per state, whatever happens next.
    area.removeItem(TX_PREFIX + state);
    writeJson(area, CONSUMED_KEY, [state, ...consumedStates(area)].slice(0, 20));
    if (tx.clientId !== cfg.clientId || tx.authority !== cfg.authority) {
      fail(AuthErrorCode.StateMismatch, "The login was started with another client configuration.");
    }

    const as = await authorizationServer();
    const iss = params.get("iss");
    if (iss !== undefined ? iss !== as.issuer : as.authorization_response_iss_parameter_supported) {
      fail(
        AuthErrorCode.IssuerMismatch,
        iss === undefined
          ? "The IdP promises an iss parameter (RFC 9207) but the callback has none; it was refused."
          : "The callback's iss names another issuer than the configured authority (RFC 9207); it was refused.",
      );
    }
    const who = tokenWho;
    let next: Session;
    try {
      const checked = oauth.validateAuthResponse(as, client, new URLSearchParams([...params]), state);
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        oauth.None(),
        checked,
        tx.redirectUri,
        tx.verifier,
        requestOptions(as.token_endpoint, viaProxy, tokenWho),
      );
      const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
        expectedNonce: tx.nonce,
        requireIdToken: openid,
      });
      next = toSession(result, oauth.getValidatedIdTokenClaims(result), cfg.scope, Date.now());
    } catch (err) {
      throw await mapError(err, who, viaProxy);
    }
    setSession(next);
    dispatch({ type: "signedIn", user: userOf(next) });
    emit("signedIn", { user: userOf(next), expiresAt: next.expiresAt });
    return sanitizeReturnTo(tx.returnTo, origin());
  }

  function handleCallback(url?: string): Promise<string> {
    start();
    const href = url ?? window.location.href;
    const key = readParams(href, cfg.responseMode).params.get("state") ?? "";
    const existing = callbacks.get(key);
    if (existing) return existing;
    const promise = processCallback(href).then(
      (returnTo) => {
        cleanAddressBar(href);
        return returnTo;
      },
      async (err: unknown) => {
        cleanAddressBar(href);
        throw report(await mapError(err, "The sign-in"));
      },
    );
    callbacks.set(key, promise);
    settling = promise.catch(() => undefined);
    return promise;
  }

  /** A failure worth showing: published on the snapshot and to `error` listeners. */
  function report(error: AuthError): AuthError {
    dispatch({ type: "failed", error });
    emit("error", { error });
    return error;
  }

  function endSession(error?: AuthError): void {
    const had = session !== undefined;
    setSession(undefined);
    dispatch({ type: "signedOut", error });
    if (error?.code === AuthErrorCode.SessionExpired) emit("sessionExpired", { error });
    if (had) emit("signedOut", {});
  }

  /** One refresh-token grant; without a refresh token in JavaScript the proxy takes it from its cookie. */
  async function tokenRequest(current: Session | undefined): Promise<Session> {
    const as = await authorizationServer();
    const options = requestOptions(as.token_endpoint, viaProxy, tokenWho);
    const response = current?.refreshToken
      ? await oauth.refreshTokenGrantRequest(as, client, oauth.None(), current.refreshToken, options)
      : await oauth.genericTokenEndpointRequest(as, client, oauth.None(), "refresh_token", {}, options);
    const result = await oauth.processRefreshTokenResponse(as, client, response);
    return toSession(result, oauth.getValidatedIdTokenClaims(result), cfg.scope, Date.now(), current);
  }

  function refresh(current: Session): Promise<Session> {
    refreshing ??= (async () => {
      try {
        const next = await tokenRequest(current);
        // A logout while the request was in flight wins over its result.
        if (session !== current) fail(AuthErrorCode.LoginRequired, "Signed out during the token refresh.");
        setSession(next);
        dispatch({ type: "refreshed", user: userOf(next) });
        emit("refreshed", { user: userOf(next), expiresAt: next.expiresAt });
        return next;
      } catch (err) {
        const error = await mapError(err, tokenWho, viaProxy);
        if (!error.transient && session === current && error.code !== AuthErrorCode.LoginRequired) {
          const expired = new AuthError(AuthErrorCode.SessionExpired, "The session has ended at the IdP (the refresh was refused). Sign in again.", {
            cause: error,
            status: error.status,
            error: error.error,
            errorDescription: error.errorDescription,
          });
          endSession(expired);
          throw expired;
        }
        emit("error", { error });
        throw error;
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  async function getAccessToken(): Promise<string> {
    start();
    await settling;
    const current = session ?? fail(AuthErrorCode.LoginRequired, "Nobody is signed in: call login() first.");
    const { expiresAt } = current;
    if (expiresAt === undefined || expiresAt - Date.now() > LEEWAY_MS) return current.accessToken;
    if (!current.refreshToken && !viaProxy) {
      if (expiresAt > Date.now()) return current.accessToken;
      endSession(new AuthError(AuthErrorCode.SessionExpired, "The access token expired and there is no refresh token. Sign in again."));
      fail(AuthErrorCode.LoginRequired, "The session has expired: call login() again.");
    }
    try {
      return (await refresh(current)).accessToken;
    } catch (err) {
      // A transient failure while the old token still works is not the caller's problem yet.
      if (err instanceof AuthError && err.transient && expiresAt > Date.now() && session === current) return current.accessToken;
      throw err;
    }
  }

  async function logout(options: LogoutOptions = {}): Promise<void> {
    start();
    const ended = session;
    endSession();
    if (options.local) return;
    const as = await authorizationServer().catch(() => undefined);
    if (as?.token_endpoint && viaProxy) {
      // The proxy revokes the refresh token it holds and clears its cookie; a failure must not keep anyone signed in here.
      const { [oauth.customFetch]: send, headers, signal } = requestOptions(as.token_endpoint, true, tokenWho);
      await send(as.token_endpoint, {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ action: "logout", client_id: cfg.clientId }).toString(),
        signal,
      }).catch(() => undefined);
    } else if (as?.revocation_endpoint && ended?.refreshToken) {
      // Best effort (RFC 7009 §2.2): a sign-out must not wait on, or fail with, the IdP.
      await oauth
        .revocationRequest(as, client, oauth.None(), ended.refreshToken, {
          ...requestOptions(as.revocation_endpoint, false, "The IdP"),
          additionalParameters: { token_type_hint: "refresh_token" },
        })
        .then(oauth.processRevocationResponse)
        .catch(() => undefined);
    }
    if (as?.end_session_endpoint) {
      const url = new URL(as.end_session_endpoint);
      if (ended?.idToken) url.searchParams.set("id_token_hint", ended.idToken);
      url.searchParams.set("client_id", cfg.clientId);
      if (cfg.postLogoutRedirectUri) url.searchParams.set("post_logout_redirect_uri", cfg.postLogoutRedirectUri);
      return openUrl(url.href);
    }
    if (options.returnTo !== undefined) openUrl(new URL(sanitizeReturnTo(options.returnTo, origin()), origin()).href);
  }

  return {
    login,
    handleCallback,
    getAccessToken,
    logout,
    subscribe(listener) {
      start();
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    getSnapshot() {
      start();
      return snapshot;
    },
    on(event, listener) {
      let set = handlers.get(event);
      if (!set) handlers.set(event, (set = new Set()));
      set.add(listener as (payload: never) => void);
      return () => void set.delete(listener as (payload: never) => void);
    },
  };
}
