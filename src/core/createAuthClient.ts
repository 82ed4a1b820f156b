import * as oauth from "oauth4webapi";
import { AuthError, AuthErrorCode, fail } from "../shared/AuthError.js";
import { MAX_TIMER_MS } from "../shared/urls.js";
import { LOADING, reduce, type AuthAction, type AuthSnapshot, type AuthUser } from "./authState.js";
import type { AuthClient, AuthEvents, LogoutOptions, TokenOptions } from "./AuthClient.js";
import { createAuthorization } from "./authorization.js";
import { resolveConfig, type AuthConfig, type StorageLike } from "./config.js";
import { createEndpoints, pageOrigin } from "./endpoints.js";
import { mapError } from "./mapError.js";
import { sanitizeReturnTo } from "./sanitizeReturnTo.js";
import { canRefresh, leeway, readSession, toSession, userOf, validFor, type Session } from "./session.js";
import { readJson, resolveStorage, webStorage, writeJson } from "./storage.js";

/**
 * What tabs tell each other (a format older deploys share): the session they now hold; that a
 * session ended (all of them, or only those holding refresh token `gen`); or a question for the
 * current session.
 */
type TabMessage = { session: Session } | { out: true; expired?: boolean; gen?: string | undefined } | { ask: true };

/** Retries of a refresh or restore that failed transiently: 1 s, 2 s, 4 s… up to 30 s, then wait for a reason to try again. */
const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 30_000;
const RETRY_ATTEMPTS = 6;
/** How long a tab waits for another tab's newer session before doing without it. */
const TAB_WAIT_MS = 300;
/** Thrown inside this module only, when a sign-out overtook a refresh: no server can send it. */
const SIGNED_OUT = Symbol("signed out meanwhile");
const noop = () => undefined;

const expired = (message: string, cause?: AuthError): AuthError =>
  new AuthError(AuthErrorCode.SessionExpired, message, cause && { cause, status: cause.status, error: cause.error, errorDescription: cause.errorDescription });

/**
 * Creates the engine. Validates the configuration at once (throwing {@link AuthError} with code
 * `config`), but touches no browser API until first used, so it is safe during server rendering.
 *
 * This is the session owner: `adopt` and `endSession` are the only writers of the session, and
 * `dispatch` of the snapshot. The code flow lives in `authorization.ts`, requests in `endpoints.ts`.
 */
export function createAuthClient(config: AuthConfig): AuthClient {
  const cfg = resolveConfig(config);
  const id = `${cfg.authority}:${cfg.clientId}`;
  const sessionKey = `react-sso.session:${id}`;
  /** Set while the proxy's cookie holds a session: tells a reload or a new tab that restoring is worth a request. */
  const hintKey = `react-sso.proxy-session:${id}`;
  /** The id (`gen`) of the newest refresh token any tab received: a tab whose copy is older must not send it. */
  const genKey = `react-sso.gen:${id}`;
  /** The stamp of the newest token response any tab received: a tab whose session is older than it knows another one refreshed. */
  const stampKey = `react-sso.stamp:${id}`;
  const endpoints = createEndpoints(cfg, id);
  const { viaProxy, tokenWho } = endpoints;
  const client: oauth.Client = { client_id: cfg.clientId };

  let started = false;
  let disposed = false;
  let storage: StorageLike | undefined;
  /** The origin's shared tab state (localStorage): hint, newest gen and stamp, exchanged states. */
  let shared: StorageLike | undefined;
  let channel: BroadcastChannel | undefined;
  /** Removes every page listener. (Not an AbortSignal: a test DOM such as jsdom may refuse the runtime's own.) */
  const unlisten: Array<() => void> = [];
  let session: Session | undefined;
  let snapshot: AuthSnapshot = LOADING;
  const listeners = new Set<() => void>();
  const handlers = new Map<keyof AuthEvents, Set<(payload: never) => void>>();
  /** A callback or a restore in progress: getAccessToken waits for it instead of answering "nobody". */
  let settling: Promise<unknown> | undefined;
  let refreshing: Promise<Session> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempts = 0;
  /** Counts sign-outs (and disposal): a refresh or login that began before one must not bring the session back. */
  let epoch = 0;
  /** A refresh waiting for another tab's session: the one `wanted` accepts. */
  let waiting: { wanted(s: Session): boolean; done(): void } | undefined;

  const authz = createAuthorization({
    cfg,
    endpoints,
    shared: () => shared as StorageLike,
    signIn(next) {
      // A login replaces whatever session this tab had.
      session = undefined;
      adopt(next);
    },
    report,
    epoch: () => epoch,
    signedIn: () => session !== undefined,
  });

  const alive = () => disposed && fail(AuthErrorCode.Disposed, "This client was disposed: create a new one.");

  function dispatch(action: AuthAction): void {
    const next = reduce(snapshot, action);
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
  const restoring = () => !session && viaProxy && readJson(shared as StorageLike, hintKey) !== undefined;

  /** Installs a session in this tab: state, storage, the refresh timer, events, and (unless it came from one) the other tabs. */
  function adopt(next: Session, fromTab = false): Session {
    alive();
    const kind = session && session.sub === next.sub ? "refreshed" : "signedIn";
    session = next;
    if (storage) writeJson(storage, sessionKey, next);
    // writeJson, because a full or refused storage must not break a sign-in.
    if (next.cookie) writeJson(shared as StorageLike, hintKey, 1);
    if (!fromTab) {
      if (next.gen) writeJson(shared as StorageLike, genKey, next.gen);
      writeJson(shared as StorageLike, stampKey, next.stamp);
      post({ session: next });
    }
    if (waiting?.wanted(next)) waiting.done();
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
    shared?.removeItem(hintKey);
    clearTimeout(timer);
    const isExpiry = error?.code === AuthErrorCode.SessionExpired;
    // A sign-out ends every tab; an expiry only the tabs that hold the same (dead) refresh token.
    if (!fromTab) post({ out: true, expired: isExpiry, gen: isExpiry ? ended?.gen : undefined });
    dispatch({ type: "signedOut", error });
    if (isExpiry) emit("sessionExpired", { error: error as AuthError });
    if (ended) emit("signedOut", {});
  }

  /** Another tab's message, validated like a stored session: a tab of an older or newer deploy may post another shape. */
  function onTabMessage({ data }: MessageEvent<unknown>): void {
    const m = ((typeof data === "object" && data) || {}) as Partial<Record<string, unknown>>;
    const next = readSession(m.session);
    if (next) adopt(next, true);
    else if (m.ask === true) {
      // Only the tab holding the newest session answers (by stamp, or by gen for older deploys).
      if (session && ((session.stamp && session.stamp === readJson(shared as StorageLike, stampKey)) || (session.gen && session.gen === readJson(shared as StorageLike, genKey)))) post({ session });
    } else if (m.out === true && session && (m.gen === undefined || m.gen === session.gen)) {
      endSession(m.expired === true ? expired("The session ended in another tab.") : undefined, true);
    }
  }

  /** Refresh ahead of expiry while the page is open; sleep and hidden tabs are caught by `wake`. A retry (`delay`) also restores. */
  function schedule(delay?: number): void {
    clearTimeout(timer);
    const current = session;
    if (delay === undefined && (!current || !canRefresh(current) || current.expiresAt === undefined)) return;
    // At least 5 s apart, whatever the IdP says a lifetime is (even 0).
    const due = delay ?? Math.max((current as Session).expiresAt as number - leeway(current as Session) - Date.now(), 5000);
    timer = setTimeout(() => void refresh(current).catch(noop), Math.min(due, MAX_TIMER_MS));
  }

  /** Timers do not run while the machine sleeps and are throttled in hidden tabs: check again when it matters. */
  function wake(): void {
    if (document.visibilityState === "hidden") return;
    if (session ? canRefresh(session) && !validFor(session, leeway(session)) : restoring()) void refresh(session).catch(noop);
  }

  function start(): void {
    alive();
    if (started || typeof window === "undefined") return;
    started = true;
    storage = resolveStorage(cfg.storage);
    shared = webStorage("local");
    const stored = readSession(readJson(storage, sessionKey));
    session = stored && (canRefresh(stored) || validFor(stored, 0)) ? stored : undefined;
    if (stored && !session) storage.removeItem(sessionKey);

    if (typeof BroadcastChannel === "function") {
      channel = new BroadcastChannel(`react-sso:${id}`);
      channel.onmessage = onTabMessage;
    }
    const listen = (target: EventTarget, type: string, listener: (event: Event) => void) => {
      target.addEventListener(type, listener);
      unlisten.push(() => target.removeEventListener(type, listener));
    };
    listen(document, "visibilitychange", wake);
    for (const event of ["online", "focus"]) listen(window, event, wake);
    // Back from the IdP through the back/forward cache: the page did not leave after all.
    listen(window, "pageshow", (event) => (event as PageTransitionEvent).persisted && authz.setLeaving(false));
    schedule();
    if (authz.isCallbackUrl(window.location.href)) {
      // Stay "loading" until the callback settles, so that no guard sees "unauthenticated" and logs in
      // again; and complete it now, even if a guard or a loading screen keeps <Callback> from mounting.
      dispatch({ type: "pending", user: session ? userOf(session) : null });
      handleCallback().catch(noop);
    } else if (restoring()) {
      // The session lives in the proxy's cookie: one refresh through the proxy brings it back.
      settling = refresh(undefined).catch(noop);
    } else {
      dispatch({ type: "restored", user: session ? userOf(session) : null });
    }
  }

  function handleCallback(url?: string): Promise<string> {
    start();
    const promise = authz.handleCallback(url ?? window.location.href);
    settling = promise.catch(noop);
    return promise;
  }

  /** Waits (at most TAB_WAIT_MS) for another tab's session that `wanted` accepts, asking the tabs for it. */
  function sessionFromTab(wanted: (s: Session) => boolean): Promise<void> {
    post({ ask: true });
    let wait: ReturnType<typeof setTimeout> | undefined;
    return new Promise<void>((done) => {
      waiting = { wanted, done };
      wait = setTimeout(done, TAB_WAIT_MS);
    }).finally(() => {
      clearTimeout(wait);
      waiting = undefined;
    });
  }

  /**
   * One refresh at a time, whoever asks: callers, the timer, wake-ups. Four guards keep it single.
   * - The in-tab promise (`refreshing`): concurrent callers in this tab share one request.
   * - The origin-wide Web Lock: tabs refresh one after another, never at once.
   * - The sign-out epoch: a refresh that waited for the lock, or was in flight, across a sign-out
   *   (or disposal) neither sends nor installs anything: a sign-out always wins.
   * - The stamp and the refresh-token id (`gen`) in the shared tab state: a tab that takes the lock
   *   after another one refreshed waits for that tab's session instead of refreshing again (in
   *   every mode, the proxy's cookie mode included), and a tab whose refresh token was rotated away
   *   never sends it, which the IdP would take for a stolen token's reuse.
   * Without a session (a reload in the proxy's cookie mode) it restores one.
   */
  function refresh(current: Session | undefined): Promise<Session> {
    const at = epoch;
    refreshing ??= endpoints
      .locked(async () => {
        if (at !== epoch) throw SIGNED_OUT;
        // Shared storage ("local") may already hold another tab's newer session.
        const stored = storage && readSession(readJson(storage, sessionKey));
        if (stored && stored.accessToken !== session?.accessToken && stored.accessToken !== current?.accessToken) adopt(stored, true);
        // Another tab refreshed since this one last looked (a newer stamp), or rotated the refresh
        // token this one holds (a newer gen, which older deploys record alone): get its session.
        const stamp = readJson(shared as StorageLike, stampKey);
        const gen = readJson(shared as StorageLike, genKey);
        const rotated = (s: Session) => s.refreshToken !== undefined && gen !== undefined && gen !== s.gen;
        const stale = (s: Session) => (stamp !== undefined && stamp !== s.stamp) || rotated(s);
        if (session && stale(session)) await sessionFromTab((s) => !stale(s));
        if (session && session.accessToken !== current?.accessToken && validFor(session, leeway(session))) return session;
        // Rotated away by a tab that did not answer (closed, or asleep): this copy is dead, and only here.
        if (session && rotated(session)) {
          throw new AuthError(AuthErrorCode.InvalidGrant, "Another tab has rotated this refresh token.", { status: 400 });
        }
        const base = session;
        const as = await endpoints.server();
        // Without a refresh token in JavaScript (the proxy's cookie mode), the proxy supplies it.
        const grant = base?.refreshToken ? { refresh_token: base.refreshToken } : {};
        const result = await oauth.processRefreshTokenResponse(as, client, await endpoints.token(as, "refresh_token", grant));
        const next = toSession(result, cfg.clientId, cfg.scope, base);
        // A sign-out while the request was in flight wins over its result; another tab's session
        // arriving meanwhile does not (it came from before this tab took the lock).
        if (at !== epoch) throw SIGNED_OUT;
        return adopt(next);
      })
      .catch(async (err: unknown) => {
        // Signed out meanwhile: whatever this refresh ran into is nobody's business any more.
        if (err === SIGNED_OUT || at !== epoch) throw new AuthError(AuthErrorCode.LoginRequired, "Signed out meanwhile.");
        const error = await mapError(err, tokenWho, viaProxy);
        if (!error.transient) {
          // Revoked, expired or reused: final. Without a session it only means there was none to restore.
          if (session) {
            const ended = expired("The IdP ended the session. Sign in again.", error);
            endSession(ended);
            emit("error", { error: ended });
            throw ended;
          }
          endSession();
          throw error;
        }
        retryLater(error);
        throw error;
      })
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  }

  /** Exponential backoff with jitter, honouring Retry-After, bounded; offline waits for `online` instead. */
  function retryLater(error: AuthError): void {
    // A restore that fails transiently keeps guards waiting: the session may still be in the cookie.
    if (!session) dispatch({ type: attempts < RETRY_ATTEMPTS ? "pending" : "failed", error });
    emit("error", { error });
    if (attempts >= RETRY_ATTEMPTS || globalThis.navigator?.onLine === false) return;
    const backoff = Math.min(RETRY_BASE_MS * 2 ** attempts++, RETRY_MAX_MS) * (0.5 + Math.random() / 2);
    schedule(Math.max(backoff, (error.retryAfter ?? 0) * 1000));
  }

  async function getAccessToken({ minValidity, forceRefresh = false }: TokenOptions = {}): Promise<string> {
    start();
    await settling;
    // A restore that failed transiently is tried again now, rather than answering "nobody".
    if (restoring()) return (await refresh(undefined)).accessToken;
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
      return (cfg.fetch ?? globalThis.fetch)(request);
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
    authz.setLeaving(true);
    endSession();
    let left = false;
    try {
      const as = await endpoints.server().catch(noop);
      const endpoint = viaProxy ? as?.token_endpoint : as?.revocation_endpoint;
      const token = ended?.refreshToken;
      if (endpoint && (viaProxy || token)) {
        // The proxy revokes the refresh token (from its cookie, or the one sent in passthrough mode) and
        // clears the cookie; without a proxy, revoke it here (RFC 7009). Under the lock, after any
        // refresh in flight, whose new cookie would otherwise outlive the logout. The sign-out here
        // happened already; a revocation that failed is reported, since a copy of the token would still work.
        const form = { ...(viaProxy && { action: "logout" }), ...(token && { token, token_type_hint: "refresh_token" }), client_id: cfg.clientId };
        await endpoints.locked(() => endpoints.post(endpoint, form, tokenWho)).catch(async (err: unknown) => {
          const cause = await mapError(err, tokenWho, viaProxy);
          emit("error", { error: new AuthError(cause.code, `Signed out here, but the session could not be revoked at the IdP: ${cause.message}`, { ...cause, cause }) });
        });
      }
      if (as?.end_session_endpoint) {
        const url = new URL(as.end_session_endpoint);
        for (const [key, value] of Object.entries(cfg.extraLogoutParams)) url.searchParams.set(key, value);
        if (ended?.idToken) url.searchParams.set("id_token_hint", ended.idToken);
        url.searchParams.set("client_id", cfg.clientId);
        if (cfg.postLogoutRedirectUri) url.searchParams.set("post_logout_redirect_uri", cfg.postLogoutRedirectUri);
        left = authz.openUrl(url.href);
      } else if (options.returnTo !== undefined) {
        left = authz.openUrl(new URL(sanitizeReturnTo(options.returnTo, pageOrigin()), pageOrigin()).href);
      }
    } finally {
      // The page stays (nowhere to go, or the app's own openUrl): logins may start again.
      if (!left) authz.setLeaving(false);
    }
  }

  return {
    async login(options) {
      start();
      return authz.login(options);
    },
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
      alive();
      let set = handlers.get(event);
      if (!set) handlers.set(event, (set = new Set()));
      set.add(listener as (payload: never) => void);
      return () => void set.delete(listener as (payload: never) => void);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      epoch++;
      clearTimeout(timer);
      waiting?.done();
      for (const remove of unlisten.splice(0)) remove();
      channel?.close();
      listeners.clear();
      handlers.clear();
    },
  };
}
