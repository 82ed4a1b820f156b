import * as oauth from "oauth4webapi";
import { AuthErrorCode, fail, type AuthError } from "../shared/AuthError.js";
import { stringRecord, type ResolvedConfig, type StorageLike } from "./config.js";
import { pageOrigin, type Endpoints } from "./endpoints.js";
import { readParams } from "./extractQueryParams.js";
import { mapError } from "./mapError.js";
import { sanitizeReturnTo } from "./sanitizeReturnTo.js";
import { toSession, type Session } from "./session.js";
import { readJson, webStorage, writeJson } from "./storage.js";

/** Options of `login()`. */
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

/** A login in flight, kept in sessionStorage under its state because it must survive the redirect. */
interface Transaction {
  /** The PKCE verifier; none with a token proxy, which keeps it. */
  verifier: string | undefined;
  nonce: string | undefined;
  returnTo: string;
  redirectUri: string;
  clientId: string;
  authority: string;
  created: number;
}

/** What the code flow needs of the session owner: it never touches the session itself. */
export interface AuthorizationDeps {
  cfg: ResolvedConfig;
  endpoints: Endpoints;
  /** Storage shared by the origin's tabs (localStorage), which holds the states already exchanged. */
  shared(): StorageLike;
  /** Installs the session a completed login produced. */
  signIn(session: Session): void;
  /** Publishes a failure (snapshot and `error` event) and returns it. */
  report(error: AuthError): AuthError;
  /** Counts sign-outs: a login that began before the latest one is abandoned. */
  epoch(): number;
  signedIn(): boolean;
}

const TX = "react-sso.tx.";
const TX_MAX_AGE_MS = 15 * 60_000;
const CALLBACK_PARAMS = "code state iss session_state error error_description error_uri".split(" ");
/** Only the implicit and hybrid flows put these in a redirect; react-sso refuses them. */
const IMPLICIT_PARAMS = ["access_token", "id_token", "token"];
/** Callbacks remembered (StrictMode, reloads): enough for every login a page sees, without growing forever. */
const CALLBACKS_KEPT = 8;

const pageOf = (url: URL | Location) => url.origin + url.pathname;

/**
 * The authorization-code flow: login transactions, the authorization request, checking and
 * exchanging the callback (once per state), cleaning the address bar. It owns its in-flight
 * login, its "leaving" flag and its callback memo.
 */
export function createAuthorization({ cfg, endpoints, shared, signIn, report, epoch, signedIn }: AuthorizationDeps) {
  const client: oauth.Client = { client_id: cfg.clientId };
  /** States already exchanged, shared by the tabs: a duplicated tab must not send the same code again. */
  const usedKey = `react-sso.consumed:${cfg.authority}:${cfg.clientId}`;
  const callbacks = new Map<string, Promise<string>>();
  let pending: Promise<void> | undefined;
  /** Set once the browser is on its way to the IdP (or a logout holds the page): no login starts. */
  let leaving = false;
  let transactions: StorageLike | undefined;
  const area = () => (transactions ??= webStorage("session"));

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

  function isCallbackUrl(href: string): boolean {
    const url = new URL(href);
    const { params } = readParams(url, cfg.responseMode);
    return pageOf(url) === pageOf(new URL(cfg.redirectUri)) && params.has("state") && (params.has("code") || params.has("error"));
  }

  async function login(options: LoginOptions = {}): Promise<void> {
    // A programming error, not a failed login: thrown as is, without changing the status.
    const extra = { ...cfg.extraAuthorizeParams, ...stringRecord("login({ extraParams })", options.extraParams) };
    if (leaving) return;
    pending ??= (async () => {
      const at = epoch();
      try {
        const here = window.location;
        // Coming back to the callback page itself would find nothing to complete there.
        const current = pageOf(here) === pageOf(new URL(cfg.redirectUri)) ? "/" : here.pathname + here.search + here.hash;
        const as = await endpoints.server();
        const url = new URL(as.authorization_endpoint ?? fail(AuthErrorCode.Config, "The IdP has no authorization endpoint."));
        let verifier: string | undefined;
        let { state, nonce, code_challenge: challenge } = {} as Record<string, unknown>;
        if (endpoints.viaProxy) {
          // The proxy makes the login transaction and keeps its PKCE verifier in an HttpOnly cookie:
          // this browser never holds it, so a code is worth nothing without this browser's cookie.
          ({ state, nonce, code_challenge: challenge } = ((await endpoints.post(as.token_endpoint as string, { action: "login", client_id: cfg.clientId, redirect_uri: cfg.redirectUri }, endpoints.tokenWho)) ?? {}) as Record<string, unknown>);
          if (typeof state !== "string" || typeof nonce !== "string" || typeof challenge !== "string") fail(AuthErrorCode.InvalidResponse, "The token proxy's login step answered without state, nonce and code_challenge.");
        } else {
          verifier = oauth.generateRandomCodeVerifier();
          [state, nonce, challenge] = [oauth.generateRandomState(), oauth.generateRandomNonce(), await oauth.calculatePKCECodeChallenge(verifier)];
        }
        if (!cfg.openid) nonce = undefined;
        for (const [key, value] of Object.entries({
          ...extra,
          client_id: cfg.clientId,
          redirect_uri: cfg.redirectUri,
          response_type: "code",
          scope: cfg.scope,
          state: state as string,
          code_challenge: challenge as string,
          code_challenge_method: "S256",
          ...(nonce !== undefined && { nonce: nonce as string }),
          ...(cfg.responseMode === "fragment" && { response_mode: "fragment" }),
        })) {
          url.searchParams.set(key, value);
        }
        // Transactions of logins that never came back would pile up: drop those older than 15 minutes.
        for (const key of Object.keys(area()).filter((k) => k.startsWith(TX))) {
          const created = (readJson(area(), key) as Partial<Transaction> | undefined)?.created;
          if (!(typeof created === "number" && Date.now() - created < TX_MAX_AGE_MS)) area().removeItem(key);
        }
        // A logout started while this login waited: the logout wins, and this login never leaves.
        if (at !== epoch()) return;
        const tx: Transaction = {
          verifier,
          nonce: nonce as string | undefined,
          returnTo: sanitizeReturnTo(options.returnTo ?? current, pageOrigin()),
          redirectUri: cfg.redirectUri,
          clientId: cfg.clientId,
          authority: cfg.authority,
          created: Date.now(),
        };
        writeJson(area(), TX + (state as string), tx);
        openUrl(url.href);
      } catch (err) {
        throw report(await mapError(err, "The IdP"));
      } finally {
        pending = undefined;
      }
    })();
    return pending;
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
    if (!state && !params.size && signedIn()) return "/";
    if (!state) fail(AuthErrorCode.StateMismatch, "The callback URL has no state.");
    // Under the lock, so a duplicated tab that holds the same transaction cannot exchange the code too.
    return endpoints.locked(async () => {
      const consumed = readJson(shared(), usedKey);
      const used = Array.isArray(consumed) ? consumed.filter((s): s is string => typeof s === "string") : [];
      if (used.includes(state)) fail(AuthErrorCode.CallbackReplayed, "This sign-in response was already used.");
      const tx = readJson(area(), TX + state) as Transaction | undefined;
      if (!tx) fail(AuthErrorCode.StateMismatch, "No login started in this tab matches the callback's state.");
      // One attempt per state, whatever happens next.
      area().removeItem(TX + state);
      writeJson(shared(), usedKey, [state, ...used].slice(0, 20));
      if (tx.clientId !== cfg.clientId || tx.authority !== cfg.authority) fail(AuthErrorCode.StateMismatch, "The login was started by another client.");
      return exchange(await endpoints.server(), params, state, tx);
    });
  }

  async function exchange(as: oauth.AuthorizationServer, params: Map<string, string>, state: string, tx: Transaction): Promise<string> {
    const { tokenWho, viaProxy } = endpoints;
    try {
      // Checks iss (RFC 9207: a wrong one is a mix-up attack, and so is a missing one when the IdP
      // promises to send it), then any error the IdP sent.
      const checked = oauth.validateAuthResponse(as, client, new URLSearchParams([...params]), state);
      const code = checked.get("code") ?? fail(AuthErrorCode.InvalidCallback, "The callback URL has no code.");
      // With a proxy, the state names the login transaction it holds (and its verifier).
      const grant = { code, redirect_uri: tx.redirectUri, ...(tx.verifier ? { code_verifier: tx.verifier } : { state }) };
      const response = await endpoints.token(as, "authorization_code", grant);
      const result = await oauth.processAuthorizationCodeResponse(as, client, response, { ...(tx.nonce && { expectedNonce: tx.nonce }), requireIdToken: cfg.openid });
      signIn(toSession(result, cfg.clientId, cfg.scope));
    } catch (err) {
      throw await mapError(err, tokenWho, viaProxy);
    }
    return sanitizeReturnTo(tx.returnTo, pageOrigin());
  }

  function handleCallback(href: string): Promise<string> {
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
    for (const old of callbacks.keys()) if (callbacks.size > CALLBACKS_KEPT) callbacks.delete(old);
    return promise;
  }

  return {
    login,
    handleCallback,
    isCallbackUrl,
    openUrl,
    /** A logout holds the page from its start (true) until it leaves, or lets go when the page stays (false). */
    setLeaving(value: boolean): void {
      leaving = value;
    },
  };
}
