import { AuthError, AuthErrorCode } from "../shared/AuthError.js";

/** Scopes, as a space-separated string (`"orders:read orders:write"`) or an array of single scopes. */
export type Scope = string | readonly string[];

/** RFC 6749 §3.3 scope-token: printable ASCII but space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * The scopes of `value` in order, each once. A string is split on spaces; an array must hold
 * single scopes. Anything else fails with a `config` error naming `field`.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.3
 */
export function scopeList(value: Scope | undefined, field: string): string[] {
  if (value === undefined) return [];
  const items = typeof value === "string" ? value.split(" ").filter(Boolean) : Array.isArray(value) ? value : undefined;
  if (!items || !items.every((item) => typeof item === "string" && SCOPE_TOKEN.test(item))) {
    throw new AuthError(
      AuthErrorCode.Config,
      `react-sso-kit/server: "${field}" must be a space-separated string or an array of scopes, each of printable ASCII without spaces, quotes or backslashes.`,
    );
  }
  return [...new Set(items)];
}

/** The scopes a token grants: its `scope` claim (space-separated), else `scp` (an array, or a string as Entra ID sends it). */
export function grantedScopes(claims: Readonly<Record<string, unknown>>): string[] {
  const value = typeof claims.scope === "string" ? claims.scope : claims.scp;
  if (typeof value === "string") return [...new Set(value.split(" ").filter(Boolean))];
  if (Array.isArray(value)) return [...new Set(value.filter((item): item is string => typeof item === "string" && item !== ""))];
  return [];
}
