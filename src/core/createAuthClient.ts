import * as oauth from "oauth4webapi";
import { AuthError, AuthErrorCode } from "../shared/AuthError.js";
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
  returnTo?: string | undefined;
  /** Extra authorization parameters for this login only, e.g. `{ prompt: "login", login_hint: "ada" }`. */
  extraParams?: Readonly<Record<string, string>> | undefined;
}

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
  /** Something failed: a login, a callback, a refresh (transient failures are retried). */
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

/**
 * What tabs tell each other: the session they now hold; that a session ended (all of them, or
 * only those holding refresh token `gen`); or a question for the current session.
 */
type TabMessage = { session: Session } | { out: true; expired?: boolean; gen?: string | undefined } | { ask: true };

const TX = "react-sso.tx.";
const TX_MAX_AGE_MS = 15 * 60_000;
const CALLBACK_PARAMS = "code state iss session_state error error_description error_uri".split(" ");
/** Only the implicit and hybrid flows put these in a redirect; react-sso refuses them. */
const IMPLICIT_PARAMS = ["access_token", "id_token", "token"];
/** Retries of a refresh that failed transiently: 1 s, 2 s, 4 s… up to 30 s, then wait for a reason to try again. */
const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 30_000;
const RETRY_ATTEMPTS = 6;

const origin = (): string => globalThis.location?.origin ?? "null";
const userOf = (s: Session): AuthUser => Object.freeze({ sub: s.sub, claims: s.claims, scopes: s.scopes });
const expired = (message: string, cause?: AuthError): AuthError =>
  new AuthError(AuthErrorCode.SessionExpired, message, cause && { cause, status: cause.status, error: cause.error, errorDescription: cause.errorDescription });

function fail(code: AuthErrorCode, message: string): never {
  throw new AuthError(code, message);
}

/**
 * Creates the engine. Validates the configuration at once (throwing {@link AuthError} with code
 * `config`), but touches no browser API until first used, so it is safe during server rendering.
 */
export function createAuthClient(config: AuthConfig): AuthClient {
  const cfg = resolveConfig(config);
  const viaProxy = cfg.tokenProxy !== undefined;
  const tokenWho = viaProxy ? "The token proxy" : "The IdP's token endpoint";
  const id = `${cfg.authority}:${cfg.clientId}`;
  const sessionKey = `react-sso.session:${id}`;
  /** Set while the proxy's cookie holds a session: tells a reload or a new tab that restoring is worth a request. */
  const hintKey = `react-sso.proxy-session:${id}`;
  /** The generation of the newest refresh token any tab received: a tab whose copy is older must not use it. */
  const genKey = `react-sso.gen:${id}`;
  /** States already exchanged, shared by the tabs: a duplicated tab must not send the same code again. */
  const usedKey = `react-sso.consumed:${id}`;
  const client: oauth.Client = { client_id: cfg.clientId };
  const doFetch = (input: RequestInfo | URL, init?: RequestInit) => (cfg.fetch ?? globalThis.fetch)(input, init);

  let started = false;
  let storage: StorageLike | undefined;
  let txStorage: StorageLike | undefined;
  let hints: StorageLike | undefined;
  let channel: BroadcastChannel | undefined;
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
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempts = 0;
  /** Counts sign-outs: a refresh that waited for the lock across one must not bring the session back. */
  let epoch = 0;

  /** Options for every oauth4webapi request: our fetch, a timeout, the proxy's header and cookies. */
  function requestOptions(url: string | undefined, toProxy: boolean, who: string) {
    return {
      signal: AbortSignal.timeout(cfg.timeoutMs),
      // http is accepted for loopback hosts (config enforces it) and for a same-origin proxy in development.
      [oauth.allowInsecureRequests]: url?.startsWith("http:") === true,
      // A custom header makes the request non-simple: no cross-site page can send it without a
      // CORS preflight, which the proxy refuses (OAuth 2.0 for Browser-Based Apps, BFF section).
      headers: (toProxy ? { "X-React-SSO": "1" } : {}) as Record<string, string>,
      [oauth.customFetch]: async (input: string, init: RequestInit) => {
        try {
          return await doFetch(input, { ...init, credentials: toProxy ? "include" : "omit" });
        } catch (cause) {
          const late = (cause as Error | undefined)?.name === "TimeoutError";
          throw new AuthError(AuthErrorCode.Network, `${who} ${late ? `did not answer within ${cfg.timeoutMs} ms` : "could not be reached"}.`, { cause });
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

  /** A failure worth showing: published on the snapshot and to `error` listeners. */
  function report(error: AuthError): AuthError {
    dispatch({ type: "failed", error });
    emit("error", { error });
    return error;
  }

  const post = (message: TabMessage) => channel?.postMessage(message);

  /** Installs a session in this tab: state, storage, the refresh timer, events, and (unless it came from one) the other tabs. */
  function adopt(next: Session, fromTab = false): Session {
    const kind = session && session.sub === next.sub ? "refreshed" : "signedIn";
    session = next;
    if (storage) writeJson(storage, sessionKey, next);
    // writeJson, because a full or refused storage must not break a sign-in.
    if (next.cookie) writeJson(hints as StorageLike, hintKey, 1);
    if (next.gen) writeJson(hints as StorageLike, genKey, next.gen);
    if (!fromTab) post({ session: next });
    attempts = 0;
    schedule();
    dispatch({ type: kind, user: userOf(next) });
    emit(kind, { user: userOf(next), expiresAt: next.expiresAt });
    return next;
  }

  function endSession(error?: AuthError, fromTab = false): void {
    const ended = session;
    session = undefined;
    epoch++;
    storage?.removeItem(sessionKey);
    hints?.removeItem(hintKey);
    clearTimeout(timer);
    const isExpiry = error?.code === AuthErrorCode.SessionExpired;
    // A sign-out ends every tab; an expiry only the tabs that hold the same (dead) refresh token.
    if (!fromTab) post({ out: true, expired: isExpiry, gen: isExpiry ? ended?.gen : undefined });
    dispatch({ type: "signedOut", error });
    if (isExpiry) emit("sessionExpired", { error: error as AuthError });
    if (ended) emit("signedOut", {});
  }

  const canRefresh = (s: Session) => s.refreshToken !== undefined || s.cookie === true;
  const validFor = (s: Session, ms: number) => s.expiresAt === undefined || s.expiresAt - Date.now() > ms;
  /** A minute, or half the token's lifetime when that is shorter: a 30-second token is not "always expiring". */
  const leeway = (s: Session) => Math.min(60_000, (s.lifetime ?? Infinity) / 2);

  /** Refresh ahead of expiry while the page is open; sleep and hidden tabs are caught by `wake`. */
  function schedule(delay?: number): void {
    clearTimeout(timer);
    const current = session;
    if (!current || !canRefresh(current) || current.expiresAt === undefined) return;
    // At least 5 s apart, whatever the IdP says a lifetime is (even 0).
    const due = delay ?? Math.max(current.expiresAt - leeway(current) - Date.now(), 5000);
    timer = setTimeout(() => void refresh(current).catch(() => undefined), Math.min(due, 2 ** 31 - 1));
  }

  /** Timers do not run while the machine sleeps and are throttled in hidden tabs: check again when it matters. */
  function wake(): void {
    if (session && document.visibilityState !== "hidden" && canRefresh(session) && !validFor(session, leeway(session))) {
      void refresh(session).catch(() => undefined);
    }
  }

  const pageOf = (url: URL | Location) => url.origin + url.pathname;

  function isCallbackUrl(href: string): boolean {
    const url = new URL(href);
    const { params } = readParams(url, cfg.responseMode);
    return pageOf(url) === pageOf(new URL(cfg.redirectUri)) && params.has("state") && (params.has("code") || params.has("error"));
  }

  function start(): void {
    if (started || typeof window === "undefined") return;
    started = true;
    storage = resolveStorage(cfg.storage);
    txStorage = webStorage("session");
    hints = webStorage("local");
    const stored = readSession(readJson(storage, sessionKey));
    session = stored && (canRefresh(stored) || validFor(stored, 0)) ? stored : undefined;
    if (stored && !session) storage.removeItem(sessionKey);

    if (typeof BroadcastChannel === "function") {
      channel = new BroadcastChannel(`react-sso:${id}`);
      channel.onmessage = ({ data }: MessageEvent<TabMessage>) => {
        if ("session" in data) adopt(data.session, true);
        else if ("ask" in data) {
          if (session?.gen && session.gen === readJson(hints as StorageLike, genKey)) post({ session });
        } else if (session && (!data.gen || data.gen === session.gen)) {
          endSession(data.expired ? expired("The session ended in another tab.") : undefined, true);
        }
      };
    }
    document.addEventListener("visibilitychange", wake);
    for (const event of ["online", "focus"]) window.addEventListener(event, wake);
    // Back from the IdP through the back/forward cache: the page did not leave after all.
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) leaving = false;
    });
    schedule();
    if (isCallbackUrl(window.location.href)) {
      // Stay "loading" until the callback settles, so that no guard sees "unauthenticated" and logs in
      // again; and complete it now, even if a guard or a loading screen keeps <Callback> from mounting.
      snapshot = Object.freeze({ status: "loading", user: session ? userOf(session) : null, error: null });
      handleCallback().catch(() => undefined);
    } else if (!session && viaProxy && readJson(hints, hintKey)) {
      // The session lives in the proxy's cookie: one refresh through the proxy brings it back.
      settling = refresh(undefined).catch(() => undefined);
    } else {
      dispatch({ type: "restored", user: session ? userOf(session) : null });
    }
  }

  /** Opens an IdP or app page. True when this page is leaving; an app's own `openUrl` may keep it. */
  function openUrl(url: string): boolean {
    if (cfg.openUrl) {
      cfg.openUrl(url);
      return false;
    }
    leaving = true;
    window.location.assign(url);
    return true;
  }

  function authorizationServer(): Promise<oauth.AuthorizationServer> {
    server ??= (async () => {
      const e = cfg.endpoints;
      let as: oauth.AuthorizationServer = e
        ? ({
            issuer: cfg.authority,
            authorization_endpoint: e.authorization,
            token_endpoint: e.token,
            end_session_endpoint: e.endSession,
            revocation_endpoint: e.revocation,
            userinfo_endpoint: e.userinfo,
          } as oauth.AuthorizationServer)
        : await discover();
      if (cfg.tokenProxy) as = { ...as, token_endpoint: new URL(cfg.tokenProxy, origin()).href };
      if (!as.token_endpoint) fail(AuthErrorCode.Config, 'The IdP has no token endpoint: set "tokenProxy".');
      return as;
    })();
    // A failed discovery (IdP down) is not cached: the next call tries again.
    server.catch(() => {
      server = undefined;
    });
    return server;
  }

  /**
   * OpenID Connect Discovery §4: one GET, whose `issuer` must be the configured authority (§4.3).
   * Written here rather than taken from oauth4webapi, whose version costs a tenth of the size budget.
   */
  async function discover(): Promise<oauth.AuthorizationServer> {
    const url = `${cfg.authority.replace(/\/$/, "")}/.well-known/openid-configuration`;
    // The URL tried is in every message: a typo in "authority" is the usual cause.
    const who = `The IdP's discovery document (${url})`;
    const { [oauth.customFetch]: send, signal } = requestOptions(url, false, who);
    const response = await send(url, { headers: { accept: "application/json" }, signal });
    const as = (await response.json().catch(() => undefined)) as oauth.AuthorizationServer | undefined;
    if (!response.ok || typeof as?.issuer !== "string") {
      const code = response.status >= 500 ? AuthErrorCode.InvalidResponse : AuthErrorCode.Config;
      throw new AuthError(code, `${who} answered HTTP ${response.status} without an issuer: check "authority", or set "endpoints".`, { status: response.status });
    }
    // Entra's multi-tenant issuer template, "…/{tenantid}/v2.0", stands for the "…/common/v2.0" (or
    // organizations) authority; each ID token's iss must then name the token's own tenant. The
    // hook is oauth4webapi's own, as openid-client uses it for the same case.
    const [before, after] = cfg.entraMultiTenant ? as.issuer.split("{tenantid}") : [];
    if (after !== undefined && cfg.authority.startsWith(before as string) && cfg.authority.endsWith(after)) {
      (as as unknown as Record<symbol, unknown>)[(oauth as unknown as { _expectedIssuer: symbol })._expectedIssuer] = ({ claims }: { claims: { tid?: unknown } }) =>
        as.issuer.replace("{tenantid}", String(claims.tid));
    } else if (as.issuer !== cfg.authority) {
      // §4.3: exactly equal, as strings. Both values are shown: localhost vs 127.0.0.1, or a trailing slash, is the usual cause.
      fail(AuthErrorCode.Config, `The IdP's issuer is ${JSON.stringify(as.issuer.slice(0, 200))} but "authority" is ${JSON.stringify(cfg.authority)}: set "authority" to the issuer exactly${before === undefined && as.issuer.includes("{tenantid}") ? ', or set "entraMultiTenant"' : ""}.`);
    }
    const methods = as.code_challenge_methods_supported;
    // RFC 8414 lets servers omit the list; a list without S256 would mean a downgrade, which we refuse.
    if (Array.isArray(methods) && !methods.includes("S256")) {
      fail(AuthErrorCode.Config, "The IdP does not support PKCE S256, and react-sso never downgrades.");
    }
    return as;
  }

  async function login(options: LoginOptions = {}): Promise<void> {
    start();
    // A programming error, not a failed login: thrown as is, without changing the status.
    const extra = { ...cfg.extraAuthorizeParams, ...stringRecord("login({ extraParams })", options.extraParams) };
    if (leaving) return;
    pendingLogin ??= (async () => {
      const at = epoch;
      try {
        const here = window.location;
        // Coming back to the callback page itself would find nothing to complete there.
        const current = pageOf(here) === pageOf(new URL(cfg.redirectUri)) ? "/" : here.pathname + here.search + here.hash;
        const as = await authorizationServer();
        const verifier = oauth.generateRandomCodeVerifier();
        const state = oauth.generateRandomState();
        const nonce = cfg.openid ? oauth.generateRandomNonce() : undefined;
        const url = new URL(as.authorization_endpoint ?? fail(AuthErrorCode.Config, "The IdP has no authorization endpoint."));
        const params = url.searchParams;
        for (const [key, value] of Object.entries({
          ...extra,
          client_id: cfg.clientId,
          redirect_uri: cfg.redirectUri,
          response_type: "code",
          scope: cfg.scope,
          state,
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: "S256",
          ...(nonce && { nonce }),
          ...(cfg.responseMode === "fragment" && { response_mode: "fragment" }),
        })) {
          params.set(key, value);
        }
        const area = txStorage as StorageLike;
        // Transactions of logins that never came back would pile up: drop those older than 15 minutes.
        for (const key of Object.keys(area).filter((k) => k.startsWith(TX))) {
          const created = (readJson(area, key) as Partial<Transaction> | undefined)?.created;
          if (!(typeof created === "number" && Date.now() - created < TX_MAX_AGE_MS)) area.removeItem(key);
        }
        const tx: Transaction = {
          verifier,
          nonce,
          returnTo: sanitizeReturnTo(options.returnTo ?? current, origin()),
          redirectUri: cfg.redirectUri,
          clientId: cfg.clientId,
          authority: cfg.authority,
          created: Date.now(),
        };
        // A logout started while this login waited: the logout wins, and this login never leaves.
        if (at !== epoch) return;
        writeJson(area, TX + state, tx);
        openUrl(url.href);
      } catch (err) {
        throw report(await mapError(err, "The IdP"));
      } finally {
        pendingLogin = undefined;
      }
    })();
    return pendingLogin;
  }

  /** Removes the authorization response from the address bar, keeping the app's own parameters. */
  function cleanAddressBar(href: string): void {
    if (window.location.href !== href) return;
    const url = new URL(href);
    const fragment = cfg.responseMode === "fragment";
    const params = fragment ? new URLSearchParams(url.hash.slice(1)) : url.searchParams;
    for (const name of CALLBACK_PARAMS) params.delete(name);
    if (fragment) url.hash = params.toString();
    window.history.replaceState(window.history.state, "", url.href);
  }

  async function processCallback(href: string): Promise<string> {
    const query = readParams(href, "query");
    const fragment = readParams(href, "fragment");
    const { params, duplicates } = cfg.responseMode === "fragment" ? fragment : query;
    if (duplicates.length > 0) fail(AuthErrorCode.InvalidCallback, `The callback URL repeats "${duplicates[0]}".`);
    const implicit = IMPLICIT_PARAMS.find((name) => query.params.has(name) || fragment.params.has(name));
    if (implicit) fail(AuthErrorCode.InvalidCallback, `The callback URL carries "${implicit}" (implicit flow).`);
    const state = params.get("state");
    // Back to the cleaned callback page of a signed-in user: nothing to do there.
    if (!state && !params.size && session) return "/";
    if (!state) fail(AuthErrorCode.StateMismatch, "The callback URL has no state.");
    // Under the lock, so a duplicated tab that holds the same transaction cannot exchange the code too.
    return withLock(async () => {
      const consumed = readJson(hints as StorageLike, usedKey);
      const used = Array.isArray(consumed) ? consumed.filter((s): s is string => typeof s === "string") : [];
      if (used.includes(state)) fail(AuthErrorCode.CallbackReplayed, "This sign-in response was already used.");
      const area = txStorage as StorageLike;
      const tx = readJson(area, TX + state) as Transaction | undefined;
      if (!tx) fail(AuthErrorCode.StateMismatch, "No login started in this tab matches the callback's state.");
      // One attempt per state, whatever happens next.
      area.removeItem(TX + state);
      writeJson(hints as StorageLike, usedKey, [state, ...used].slice(0, 20));
      if (tx.clientId !== cfg.clientId || tx.authority !== cfg.authority) fail(AuthErrorCode.StateMismatch, "The login was started by another client.");
      return exchange(await authorizationServer(), params, state, tx);
    });
  }

  async function exchange(as: oauth.AuthorizationServer, params: Map<string, string>, state: string, tx: Transaction): Promise<string> {
    try {
      // Checks iss (RFC 9207: a wrong one is a mix-up attack, and so is a missing one when the IdP
      // promises to send it), then any error the IdP sent.
      const checked = oauth.validateAuthResponse(as, client, new URLSearchParams([...params]), state);
      const options = requestOptions(as.token_endpoint, viaProxy, tokenWho);
      // The generic request sends what authorizationCodeGrantRequest would (RFC 6749 §4.1.3, RFC 7636
      // §4.5), and its code is already shared with refreshes: smaller than a second request function.
      const grant = { code: checked.get("code") ?? fail(AuthErrorCode.InvalidCallback, "The callback URL has no code."), redirect_uri: tx.redirectUri, code_verifier: tx.verifier };
      const response = await oauth.genericTokenEndpointRequest(as, client, oauth.None(), "authorization_code", grant, options);
      const result = await oauth.processAuthorizationCodeResponse(as, client, response, { ...(tx.nonce && { expectedNonce: tx.nonce }), requireIdToken: cfg.openid });
      // A login replaces whatever session this tab had.
      session = undefined;
      adopt(toSession(result, oauth.getValidatedIdTokenClaims(result), cfg.scope, Date.now(), oauth.generateRandomState()));
    } catch (err) {
      throw await mapError(err, tokenWho, viaProxy);
    }
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

  /** Runs `task` while holding the origin-wide refresh lock, so tabs refresh one at a time (per tab where Web Locks are missing). */
  function withLock<T>(task: () => Promise<T>): Promise<T> {
    const locks = globalThis.navigator?.locks;
    return locks ? (locks.request(`react-sso:refresh:${id}`, task) as Promise<T>) : task();
  }

  /**
   * One refresh at a time for any number of callers: the tab-wide promise, then the origin-wide
   * lock. Whoever waited for the lock first looks whether another tab already did the work.
   * Without a current session (a reload in the proxy's cookie mode) it restores one.
   */
  function refresh(current: Session | undefined): Promise<Session> {
    const at = epoch;
    refreshing ??= withLock(async () => {
      // Signed out while this waited for the lock: it must not sign the user back in.
      if (at !== epoch) fail(AuthErrorCode.LoginRequired, "Signed out meanwhile.");
      // Another tab refreshed while we waited: its session arrived by message or through shared storage.
      const stored = storage && readSession(readJson(storage, sessionKey));
      if (stored && stored.accessToken !== session?.accessToken && stored.accessToken !== current?.accessToken) adopt(stored, true);
      if (session && session.accessToken !== current?.accessToken && validFor(session, leeway(session))) return session;
      // This tab's refresh token was rotated by a tab it did not hear from (it slept, or reloaded):
      // ask the others for the current session; if none has it, this copy is dead, and only here.
      const newest = readJson(hints as StorageLike, genKey);
      if (session?.refreshToken && newest && newest !== session.gen) {
        post({ ask: true });
        await new Promise((resolve) => setTimeout(resolve, 300));
        if (session?.gen === newest) return session;
        throw new AuthError(AuthErrorCode.InvalidGrant, "Another tab has rotated this refresh token.", { status: 400 });
      }
      const base = session;
      const as = await authorizationServer();
      const options = requestOptions(as.token_endpoint, viaProxy, tokenWho);
      // Without a refresh token in JavaScript (the proxy's cookie mode), the proxy supplies it.
      const response = await oauth.genericTokenEndpointRequest(as, client, oauth.None(), "refresh_token", base?.refreshToken ? { refresh_token: base.refreshToken } : {}, options);
      const result = await oauth.processRefreshTokenResponse(as, client, response);
      const next = toSession(result, oauth.getValidatedIdTokenClaims(result), cfg.scope, Date.now(), oauth.generateRandomState(), base);
      // A logout while the request was in flight wins over its result.
      if (session !== base) fail(AuthErrorCode.LoginRequired, "Signed out meanwhile.");
      return adopt(next);
    })
      .catch(async (err: unknown) => {
        const error = await mapError(err, tokenWho, viaProxy);
        // Signed out meanwhile: whatever this refresh ran into is nobody's business any more.
        if (error.code === AuthErrorCode.LoginRequired || at !== epoch) throw error;
        if (!error.transient) {
          // Revoked, expired or reused: final. Without a session it only means there was none to restore.
          if (session) {
            const ended = expired("The IdP ended the session. Sign in again.", error);
            endSession(ended);
            throw ended;
          }
          endSession();
          throw error;
        }
        if (session) retryLater(error);
        else report(error);
        throw error;
      })
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  }

  /** Exponential backoff with jitter, honouring Retry-After, bounded; offline waits for `online` instead. */
  function retryLater(error: AuthError): void {
    emit("error", { error });
    if (attempts >= RETRY_ATTEMPTS || globalThis.navigator?.onLine === false) return;
    const backoff = Math.min(RETRY_BASE_MS * 2 ** attempts++, RETRY_MAX_MS) * (0.5 + Math.random() / 2);
    schedule(Math.max(backoff, (error.retryAfter ?? 0) * 1000));
  }

  async function getAccessToken({ minValidity, forceRefresh = false }: TokenOptions = {}): Promise<string> {
    start();
    await settling;
    const current = session ?? fail(AuthErrorCode.LoginRequired, "Nobody is signed in: call login() first, or render the page inside <RequireAuth>.");
    if (!forceRefresh && validFor(current, minValidity === undefined ? leeway(current) : minValidity * 1000)) return current.accessToken;
    if (!canRefresh(current)) {
      if (validFor(current, 0)) return current.accessToken;
      endSession(expired("The access token expired. Sign in again."));
      fail(AuthErrorCode.LoginRequired, "The session has expired.");
    }
    // While a backoff is under way, callers get the token that still works, not a request each.
    if (attempts > 0 && !forceRefresh && validFor(current, 0)) return current.accessToken;
    try {
      return (await refresh(current)).accessToken;
    } catch (err) {
      // A transient failure while the old token still works is not the caller's problem yet: it is retried.
      if (err instanceof AuthError && err.transient && !forceRefresh && session === current && validFor(current, 0)) return current.accessToken;
      throw err;
    }
  }

  async function authFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
    // A stream passed as init.body is read while it is sent: nothing is left to send again. Other
    // bodies, and Requests (sent from clones), can be sent twice.
    const replayable = !(init.body instanceof ReadableStream);
    const send = async (forceRefresh: boolean) => {
      const request = new Request(input instanceof Request && replayable ? input.clone() : input, init);
      request.headers.set("Authorization", `Bearer ${await getAccessToken({ forceRefresh })}`);
      return doFetch(request);
    };
    const response = await send(false);
    const challenge = response.headers.get("www-authenticate") ?? "";
    if (response.status !== 401 || !replayable || !/^bearer\b[^]*error="?invalid_token/i.test(challenge)) return response;
    return send(true);
  }

  async function logout(options: LogoutOptions = {}): Promise<void> {
    start();
    const ended = session;
    if (options.local) return endSession();
    // A logout wins. From here until the page leaves, no login starts in this tab: a mounted
    // <RequireAuth> sees "unauthenticated" at once, and the IdP, which still has its own session,
    // would sign the user straight back in and cancel the revocation. A login already waiting for
    // discovery is abandoned before it navigates (endSession moves the epoch it checks).
    leaving = true;
    endSession();
    let left = false;
    try {
      const as = await authorizationServer().catch(() => undefined);
      const endpoint = viaProxy ? as?.token_endpoint : as?.revocation_endpoint;
      const token = ended?.refreshToken;
      if (endpoint && (viaProxy || token)) {
        // The proxy revokes the refresh token (from its cookie, or the one sent in passthrough mode) and
        // clears the cookie; without a proxy, revoke it here (RFC 7009). Under the lock, after any
        // refresh in flight, whose new cookie would otherwise outlive the logout. Best effort: a
        // failure must not keep anyone signed in.
        const { [oauth.customFetch]: send, headers, signal } = requestOptions(endpoint, viaProxy, tokenWho);
        const form = { ...(viaProxy && { action: "logout" }), ...(token && { token, token_type_hint: "refresh_token" }), client_id: cfg.clientId };
        await withLock(() =>
          send(endpoint, {
            method: "POST",
            headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams(form).toString(),
            signal,
          }).catch(() => undefined),
        );
      }
      if (as?.end_session_endpoint) {
        const url = new URL(as.end_session_endpoint);
        if (ended?.idToken) url.searchParams.set("id_token_hint", ended.idToken);
        url.searchParams.set("client_id", cfg.clientId);
        if (cfg.postLogoutRedirectUri) url.searchParams.set("post_logout_redirect_uri", cfg.postLogoutRedirectUri);
        left = openUrl(url.href);
      } else if (options.returnTo !== undefined) {
        left = openUrl(new URL(sanitizeReturnTo(options.returnTo, origin()), origin()).href);
      }
    } finally {
      // The page stays (nowhere to go, or the app's own openUrl): logins may start again.
      if (!left) leaving = false;
    }
  }

  return {
    login,
    handleCallback,
    getAccessToken,
    authFetch,
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
