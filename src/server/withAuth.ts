import { authFailure } from "./authFailure.js";
import type { AuthInfo, TokenVerifier, VerifyOptions } from "./createTokenVerifier.js";
import { scopeList } from "./scopes.js";

/**
 * Wraps a Web handler (Hono, Next.js route handlers, workers, Bun, Deno) so that `handler` runs
 * only for a request with a valid access token granting every scope in `options.scopes`; it
 * receives the request, the {@link AuthInfo}, and whatever else the framework passes (Next.js's
 * route context). Any other request gets the status the verifier gave with `WWW-Authenticate`,
 * `Cache-Control: no-store` and a JSON `{ error, error_description }` body.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3
 *
 * @example
 * ```ts
 * export const GET = withAuth(verifier, (request, auth) => Response.json({ user: auth.sub }), { scopes: ["orders:read"] });
 * ```
 */
export function withAuth<Rest extends unknown[]>(
  verifier: TokenVerifier,
  handler: (request: Request, auth: AuthInfo, ...rest: Rest) => Response | Promise<Response>,
  options: VerifyOptions = {},
): (request: Request, ...rest: Rest) => Promise<Response> {
  const scopes = scopeList(options.scopes, "scopes");
  return async (request, ...rest) => {
    let auth: AuthInfo;
    try {
      auth = await verifier.verify(request, { scopes });
    } catch (err) {
      const failure = authFailure(err);
      return new Response(failure.body, { status: failure.status, headers: failure.headers });
    }
    return handler(request, auth, ...rest);
  };
}
