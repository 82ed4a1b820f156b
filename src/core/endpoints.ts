import * as oauth from "oauth4webapi";
import { AuthError, AuthErrorCode, fail } from "../shared/AuthError.js";
import { PROXY_HEADER } from "../shared/http.js";
import { isLoopback, isTenantTemplate } from "../shared/urls.js";
import type { ResolvedConfig } from "./config.js";
import { responseError } from "./mapError.js";
import { readJson, webStorage, writeJson } from "./storage.js";

const hostOf = (url: string): string => {
  try {
    return new URL(url).hostname;
  } catch {
    return "";
  }
};

/** The page's origin; "null" during server rendering, where nothing is sent anyway. */
export const pageOrigin = (): string => globalThis.location?.origin ?? "null";

/** The IdP as the engine talks to it. Holds nothing but the metadata memo. */
export interface Endpoints {
  viaProxy: boolean;
  /** "The token proxy" or "The IdP's token endpoint", for messages. */
  tokenWho: string;
  /** The IdP's metadata (discovered, or from `endpoints`), with the proxy as token endpoint. Memoised; a failure is not. */
  server(): Promise<oauth.AuthorizationServer>;
  /** A token request (RFC 6749 §4.1.3, §6) to the proxy or the IdP, as a public client: `client_id` in the body. */
  token(as: oauth.AuthorizationServer, grantType: string, params: Record<string, string>): Promise<Response>;
  /** Runs `task` holding the origin-wide lock, so that tabs take turns (per tab where Web Locks are missing). */
  locked<T>(task: () => Promise<T>): Promise<T>;
  /**
   * POSTs a form to the token proxy (its login and logout steps) or, without a proxy, to the IdP
   * (revocation), following no redirect, and reads the answer to its end (so that a page leaving
   * next aborts nothing): its JSON when OK, else the failure as an {@link AuthError}.
   */
  post(url: string, form: Record<string, string>, who: string): Promise<unknown>;
}

export function createEndpoints(cfg: ResolvedConfig, id: string): Endpoints {
  const viaProxy = cfg.tokenProxy !== undefined;
  let memo: Promise<oauth.AuthorizationServer> | undefined;

  /** Our fetch with the timeout, and the proxy's header and cookies for a request to the proxy. */
  async function call(url: string, toProxy: boolean, who: string, init: Omit<RequestInit, "headers"> & { headers?: Record<string, string> } = {}): Promise<Response> {
    try {
      return await (cfg.fetch ?? globalThis.fetch)(url, {
        ...init,
        // A custom header makes the request non-simple: no cross-site page can send it without a
        // CORS preflight, which the proxy refuses (OAuth 2.0 for Browser-Based Apps, BFF section).
        headers: { accept: "application/json", ...init.headers, ...(toProxy && { [PROXY_HEADER]: "1" }) },
        credentials: toProxy ? "include" : "omit",
        signal: AbortSignal.timeout(cfg.timeoutMs),
      });
    } catch (cause) {
      const late = (cause as Error | undefined)?.name === "TimeoutError";
      throw new AuthError(AuthErrorCode.Network, `${who} ${late ? `did not answer within ${cfg.timeoutMs} ms` : "could not be reached"}.`, { cause });
    }
  }

  /** The form POST of every token-endpoint request and of the proxy's steps (RFC 6749 §4.1.3, §6; RFC 7009 §2.1). */
  const send = (url: string, form: Record<string, string>, who: string): Promise<Response> =>
    call(url, viaProxy, who, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form).toString(), redirect: "manual" });

  /**
   * OpenID Connect Discovery §4: one GET, whose `issuer` must be the configured authority (§4.3).
   * Written here rather than taken from oauth4webapi, whose version costs a tenth of the size budget.
   */
  async function discover(): Promise<oauth.AuthorizationServer> {
    const url = `${cfg.authority.replace(/\/$/, "")}/.well-known/openid-configuration`;
    // Kept across the redirect (this tab's sessionStorage), so that the callback page sends only the
    // code exchange, and a reload only the proxy's refresh: for 15 minutes, or the document's own
    // max-age when shorter. A kept document is checked as a fetched one is; failing, it is fetched again.
    const key = `react-sso.discovery:${cfg.authority}`;
    const kept = readJson(webStorage("session"), key) as { doc?: unknown; until?: number } | undefined;
    if ((kept?.until ?? 0) > Date.now()) {
      try {
        return check(kept?.doc as oauth.AuthorizationServer);
      } catch {
        // Stale or tampered with: ask the IdP.
      }
    }
    // The URL tried is in every message: a typo in "authority" is the usual cause.
    const who = `The IdP's discovery document (${url})`;
    const response = await call(url, false, who);
    const as = (await response.json().catch(() => undefined)) as oauth.AuthorizationServer | undefined;
    if (!response.ok || typeof as?.issuer !== "string") {
      const code = response.status >= 500 ? AuthErrorCode.InvalidResponse : AuthErrorCode.Config;
      throw new AuthError(code, `${who} answered HTTP ${response.status} without an issuer: check "authority", or set "endpoints".`, { status: response.status });
    }
    const caching = response.headers.get("cache-control") ?? "";
    const seconds = /no-store|no-cache/.test(caching) ? 0 : Math.min(900, Number(/max-age=(\d+)/.exec(caching)?.[1] ?? 900));
    writeJson(webStorage("session"), key, { doc: as, until: Date.now() + seconds * 1000 });
    return check(as);
  }

  /** The checks of OpenID Connect Discovery and of react-sso on a document, fetched or kept. */
  function check(as: oauth.AuthorizationServer): oauth.AuthorizationServer {
    if (typeof as?.issuer !== "string") fail(AuthErrorCode.Config, "The IdP's discovery document has no issuer.");
    // Entra's multi-tenant issuer template, "…/{tenantid}/v2.0", stands for the "…/common/v2.0" (or
    // organizations) authority; each ID token's iss must then name the token's own tenant. The
    // hook is oauth4webapi's own, as openid-client uses it for the same case.
    if (cfg.entraMultiTenant && isTenantTemplate(as.issuer, cfg.authority)) {
      // Without a tid there is no tenant to name: "" matches no iss.
      (as as unknown as Record<symbol, unknown>)[(oauth as unknown as { _expectedIssuer: symbol })._expectedIssuer] = ({ claims }: { claims: { tid?: unknown } }) =>
        typeof claims.tid === "string" ? as.issuer.replace("{tenantid}", claims.tid) : "";
    } else if (as.issuer !== cfg.authority) {
      // §4.3: exactly equal, as strings. Both values are shown: localhost vs 127.0.0.1, or a trailing slash, is the usual cause.
      fail(
        AuthErrorCode.Config,
        `The IdP's issuer is ${JSON.stringify(as.issuer.slice(0, 200))} but "authority" is ${JSON.stringify(cfg.authority)}: set "authority" to the issuer exactly${!cfg.entraMultiTenant && as.issuer.includes("{tenantid}") ? ', or set "entraMultiTenant"' : ""}.`,
      );
    }
    // The code, the verifier and the tokens must not cross a network in clear: an https issuer's
    // endpoints are https too (http only where the issuer itself is a loopback http one).
    for (const [key, value] of Object.entries(as)) {
      // Not a string at all (an array, an object) would reach fetch as whatever its toString gives.
      if (key.endsWith("_endpoint") && !(typeof value === "string" && (value.startsWith("https:") || (cfg.authority.startsWith("http:") && isLoopback(hostOf(value)))))) {
        fail(AuthErrorCode.Config, `The IdP's discovery document lists ${key} ${JSON.stringify(String(value).slice(0, 100))}, which is not an https URL: react-sso sends no code or token in clear.`);
      }
    }
    const methods = as.code_challenge_methods_supported;
    // RFC 8414 lets servers omit the list; a list without S256 would mean a downgrade, which we refuse.
    if (Array.isArray(methods) && !methods.includes("S256")) {
      fail(AuthErrorCode.Config, "The IdP does not support PKCE S256, and react-sso never downgrades.");
    }
    return as;
  }

  const tokenWho = viaProxy ? "The token proxy" : "The IdP's token endpoint";
  return {
    viaProxy,
    tokenWho,
    server() {
      if (memo) return memo;
      const attempt = (async () => {
        const e = cfg.endpoints;
        let as: oauth.AuthorizationServer = e
          ? ({
              issuer: cfg.authority,
              authorization_endpoint: e.authorization,
              token_endpoint: e.token,
              end_session_endpoint: e.endSession,
              revocation_endpoint: e.revocation,
            } as oauth.AuthorizationServer)
          : await discover();
        if (cfg.tokenProxy) as = { ...as, token_endpoint: new URL(cfg.tokenProxy, pageOrigin()).href };
        if (!as.token_endpoint) fail(AuthErrorCode.Config, 'The IdP has no token endpoint: set "tokenProxy".');
        return as;
      })();
      // A failed discovery (IdP down) is not cached: the next call tries again.
      attempt.catch(() => {
        if (memo === attempt) memo = undefined;
      });
      memo = attempt;
      return memo;
    },
    token: (as, grantType, params) => send(as.token_endpoint as string, { grant_type: grantType, ...params, client_id: cfg.clientId }, tokenWho),
    async post(url, form, who) {
      const response = await send(url, form, who);
      if (!response.ok) throw await responseError(response, who, viaProxy);
      return response.json().catch(() => undefined);
    },
    locked(task) {
      const locks = globalThis.navigator?.locks;
      return locks ? (locks.request(`react-sso:refresh:${id}`, task) as ReturnType<typeof task>) : task();
    },
  };
}
