import * as oauth from "oauth4webapi";
import { AuthError, AuthErrorCode } from "../shared/AuthError.js";
import { isTenantTemplate } from "../shared/urls.js";
import { loggableEndpoint } from "./debug.js";
import { isSafeEndpoint, retryAfterOf, toAuthError, type IdpHttp } from "./idpHttp.js";

/** The metadata fields that name endpoints react-sso may send credentials or tokens to. */
const ENDPOINT_FIELDS = ["authorization_endpoint", "token_endpoint", "revocation_endpoint", "introspection_endpoint", "jwks_uri"] as const;

const REDIRECTS = [301, 302, 303, 307, 308];

/** Options of {@link discover}. */
export interface DiscoverOptions {
  /**
   * Accept Microsoft Entra ID's multi-tenant issuer template (`…/{tenantid}/v2.0`) for a
   * `…/common/v2.0` or `…/organizations/v2.0` issuer; whoever checks ID tokens must then check
   * `iss` against the token's own tenant (see {@link isTenantTemplate}).
   */
  entraMultiTenant?: boolean | undefined;
}

/** The URL oauth4webapi asks for each algorithm: OpenID Connect's suffix, or RFC 8414's path insertion. For messages. */
function wellKnown(issuer: URL, algorithm: "oidc" | "oauth2"): string {
  const path = issuer.pathname.replace(/\/$/, "");
  return algorithm === "oidc" ? `${issuer.origin}${path}/.well-known/openid-configuration` : `${issuer.origin}/.well-known/oauth-authorization-server${path}`;
}

/** A Location header as a URL; undefined when there is none or it does not parse. */
function urlOrUndefined(location: string | null, base: string): URL | undefined {
  try {
    return location === null ? undefined : new URL(location, base);
  } catch {
    return undefined;
  }
}

function issuerMismatch(where: string, found: unknown, issuer: string, options: DiscoverOptions): AuthError {
  const stated = String(found).slice(0, 200);
  const hint = stated.includes("{tenantid}") && !options.entraMultiTenant ? ', or set "entraMultiTenant"' : "";
  return new AuthError(
    AuthErrorCode.Config,
    `The discovery document (${where}) names the issuer ${JSON.stringify(stated)}, but "issuer" is ${JSON.stringify(issuer)}: set "issuer" to it exactly${hint}.`,
  );
}

/**
 * Reads the issuer's metadata: OpenID Connect Discovery first, then RFC 8414 (whose path-insertion
 * form oauth4webapi builds for issuers with a path). The document's `issuer` must be the
 * configured string exactly (or, opted in, Entra's template of it), and every endpoint in it https
 * (plain http only on loopback hosts). Redirects are followed a few times on the issuer's own
 * origin only: Django OAuth Toolkit redirects the discovery path to the one with a trailing slash.
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 */
export async function discover(issuer: string, http: IdpHttp, options: DiscoverOptions = {}): Promise<oauth.AuthorizationServer> {
  const issuerUrl = new URL(issuer);
  const tried: string[] = [];
  let lastStatus = 0;
  for (const algorithm of ["oidc", "oauth2"] as const) {
    const where = loggableEndpoint(wellKnown(issuerUrl, algorithm));
    let response = await oauth.discoveryRequest(issuerUrl, { ...http.options(), algorithm });
    for (let hops = 0; hops < 3 && REDIRECTS.includes(response.status); hops++) {
      const next = urlOrUndefined(response.headers.get("location"), response.url || wellKnown(issuerUrl, algorithm));
      if (next?.origin !== issuerUrl.origin) break;
      await response.body?.cancel().catch(() => undefined);
      response = await http.fetch(next.href, { headers: { accept: "application/json" }, redirect: "manual", signal: http.options().signal() });
    }
    if (response.status !== 200) {
      lastStatus = response.status;
      tried.push(`HTTP ${response.status} at ${where}`);
      await response.body?.cancel().catch(() => undefined);
      // A server error, a timeout or a rate limit says nothing about the other path: try again later.
      if (response.status >= 500 || response.status === 408 || response.status === 429) {
        throw new AuthError(AuthErrorCode.InvalidResponse, `The issuer's discovery document (${where}) answered HTTP ${response.status}; try again later.`, {
          status: response.status,
          retryAfter: retryAfterOf(response),
        });
      }
      continue;
    }
    let as: oauth.AuthorizationServer;
    try {
      as = await oauth.processDiscoveryResponse(issuerUrl, response);
    } catch (err) {
      if (err instanceof oauth.OperationProcessingError && err.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
        // oauth4webapi refuses any other issuer, Entra's template too; the document it read is the cause's body.
        const body = (err.cause as { body?: oauth.AuthorizationServer } | undefined)?.body;
        if (!(options.entraMultiTenant && typeof body?.issuer === "string" && isTenantTemplate(body.issuer, issuer))) throw issuerMismatch(where, body?.issuer, issuer, options);
        as = body;
      } else {
        throw await toAuthError(err, `The issuer's discovery document (${where})`);
      }
    }
    // oauth4webapi compares normalised URLs; OpenID Connect Discovery §4.3 wants the same string.
    if (as.issuer !== issuer && !(options.entraMultiTenant && isTenantTemplate(as.issuer, issuer))) throw issuerMismatch(where, as.issuer, issuer, options);
    for (const field of ENDPOINT_FIELDS) {
      const value = as[field];
      if (value !== undefined && (typeof value !== "string" || !isSafeEndpoint(value))) {
        throw new AuthError(AuthErrorCode.Config, `The discovery document's ${field} is not an https URL (plain http only on loopback hosts).`);
      }
    }
    return as;
  }
  throw new AuthError(
    AuthErrorCode.Config,
    `The issuer ${JSON.stringify(issuer)} has no discovery document (${tried.join(", ")}): check "issuer", or configure the endpoints instead.`,
    { status: lastStatus },
  );
}

/** {@link discover} once: the answer is kept, a failure is forgotten so the next call asks again. */
export function cachedDiscovery(issuer: string, http: IdpHttp, options: DiscoverOptions = {}): () => Promise<oauth.AuthorizationServer> {
  let cached: Promise<oauth.AuthorizationServer> | undefined;
  return () => {
    if (!cached) {
      const attempt = discover(issuer, http, options);
      cached = attempt;
      attempt.catch(() => {
        if (cached === attempt) cached = undefined;
      });
    }
    return cached;
  };
}
