import * as oauth from "oauth4webapi";
import { AuthError, AuthErrorCode } from "../shared/AuthError.js";
import { loggableEndpoint } from "./debug.js";
import { isSafeEndpoint, retryAfterOf, toAuthError, type IdpHttp } from "./idpHttp.js";

/** The metadata fields that name endpoints react-sso may send credentials or tokens to. */
const ENDPOINT_FIELDS = ["authorization_endpoint", "token_endpoint", "revocation_endpoint", "introspection_endpoint", "jwks_uri"] as const;

function issuerMismatch(found: unknown, issuer: string): AuthError {
  return new AuthError(
    AuthErrorCode.Config,
    `The discovery document names the issuer ${JSON.stringify(String(found).slice(0, 200))}, not ${JSON.stringify(issuer)}: set "issuer" to exactly the IdP's issuer.`,
  );
}

/**
 * Reads the issuer's metadata: OpenID Connect Discovery first, then RFC 8414 (whose path-insertion
 * form oauth4webapi builds for issuers with a path). The document's `issuer` must be the
 * configured string exactly, and every endpoint in it https (plain http only on loopback hosts).
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 */
export async function discover(issuer: string, http: IdpHttp): Promise<oauth.AuthorizationServer> {
  const issuerUrl = new URL(issuer);
  let lastStatus = 0;
  for (const algorithm of ["oidc", "oauth2"] as const) {
    const response = await oauth.discoveryRequest(issuerUrl, { ...http.options(), algorithm });
    if (response.status !== 200) {
      lastStatus = response.status;
      await response.body?.cancel().catch(() => undefined);
      // A server error says nothing about the other path: it is down, try again later.
      if (response.status >= 500) {
        throw new AuthError(AuthErrorCode.InvalidResponse, `The issuer's discovery document (${loggableEndpoint(response.url || issuer)}) answered HTTP ${response.status}; try again later.`, {
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
        throw issuerMismatch((err.cause as { body?: { issuer?: unknown } } | undefined)?.body?.issuer, issuer);
      }
      throw await toAuthError(err, "The issuer's discovery document");
    }
    // oauth4webapi compares normalised URLs; OpenID Connect Discovery §4.3 wants the same string.
    if (as.issuer !== issuer) throw issuerMismatch(as.issuer, issuer);
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
    `The issuer ${JSON.stringify(issuer)} has no discovery document (HTTP ${lastStatus} at both /.well-known paths): check "issuer", or configure the endpoints instead.`,
    { status: lastStatus },
  );
}

/** {@link discover} once: the answer is kept, a failure is forgotten so the next call asks again. */
export function cachedDiscovery(issuer: string, http: IdpHttp): () => Promise<oauth.AuthorizationServer> {
  let cached: Promise<oauth.AuthorizationServer> | undefined;
  return () => {
    if (!cached) {
      const attempt = discover(issuer, http);
      cached = attempt;
      attempt.catch(() => {
        if (cached === attempt) cached = undefined;
      });
    }
    return cached;
  };
}
