// Types only: importing this module must not load node:* (the same entry serves edge runtimes).
import type { IncomingMessage, ServerResponse } from "node:http";
import { authFailure } from "./authFailure.js";
import type { AuthInfo, TokenVerifier, VerifyOptions } from "./createTokenVerifier.js";
import { scopeList } from "./scopes.js";

/** A request {@link requireAuth} let through: `auth` says what its access token grants. */
export type AuthenticatedRequest<Req extends IncomingMessage = IncomingMessage> = Req & { auth: AuthInfo };

/**
 * Middleware for node:http, Express and Connect (`(req, res, next)`) that lets a request through
 * only with a valid access token granting every scope in `options.scopes`. On success it sets
 * `req.auth` ({@link AuthInfo}) and calls `next()`. Otherwise it answers the status the verifier
 * gave (400, 401, 403; 503 when the IdP cannot be reached) with `WWW-Authenticate`,
 * `Cache-Control: no-store` and a JSON `{ error, error_description }` body, and never calls
 * `next`.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3
 *
 * @example
 * ```ts
 * app.get("/api/orders", requireAuth(verifier, { scopes: ["orders:read"] }), (req, res) => {
 *   res.json({ user: (req as AuthenticatedRequest).auth.sub });
 * });
 * ```
 */
export function requireAuth(
  verifier: TokenVerifier,
  options: VerifyOptions = {},
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  // Checked now, so a typo in the scopes fails at start-up rather than on every request.
  const scopes = scopeList(options.scopes, "scopes");
  return (req, res, next) => {
    verifier.verify(req, { scopes }).then(
      (auth) => {
        (req as AuthenticatedRequest).auth = auth;
        next();
      },
      (err: unknown) => {
        const failure = authFailure(err);
        res.writeHead(failure.status, failure.headers).end(failure.body);
      },
    );
  };
}
