import * as oauth from "oauth4webapi";

/**
 * How a confidential client proves itself to the IdP's token, revocation and introspection
 * endpoints; `"none"` for a public client (its `client_id` only).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export type ClientAuthMethod = "client_secret_basic" | "client_secret_post" | "none";

/**
 * One half of HTTP Basic client credentials: RFC 3986 unreserved characters (`A–Z a–z 0–9 - . _
 * ~`) as they are, everything else percent-encoded as UTF-8 (`+` → `%2B`, `%` → `%25`, `:` →
 * `%3A`, space → `%20`). RFC 6749 §2.3.1 asks for form encoding, which also encodes `-`, `.`,
 * `_` and `~`; many servers never decode, so `my-app` would arrive as `my%2Dapp` and fail. Every
 * character that must be encoded still is, so servers that do decode read the same value.
 */
export function encodeBasicCredential(value: string): string {
  // encodeURIComponent leaves ! ' ( ) * alone; they are not unreserved.
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The `Authorization` header value for `client_secret_basic`. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  // Both halves are ASCII once encoded, so btoa cannot throw.
  return `Basic ${btoa(`${encodeBasicCredential(clientId)}:${encodeBasicCredential(clientSecret)}`)}`;
}

/** `client_secret_basic` as an oauth4webapi {@link oauth.ClientAuth}, with the encoding of {@link encodeBasicCredential}. */
export function clientSecretBasic(clientSecret: string): oauth.ClientAuth {
  // Fails here, at configuration, for a value that cannot be encoded (a lone UTF-16 surrogate).
  encodeBasicCredential(clientSecret);
  return (_as, client, _body, headers) => {
    headers.set("authorization", basicAuthorization(client.client_id, clientSecret));
  };
}

/** The oauth4webapi {@link oauth.ClientAuth} for `method`; `clientSecret` is needed unless it is `"none"`. */
export function clientAuthentication(method: ClientAuthMethod, clientSecret: string | undefined): oauth.ClientAuth {
  if (method === "none" || clientSecret === undefined) return oauth.None();
  return method === "client_secret_post" ? oauth.ClientSecretPost(clientSecret) : clientSecretBasic(clientSecret);
}

/**
 * The method to use with an endpoint: none without a secret; the configured one when there is
 * one; otherwise `client_secret_post` only when the server's metadata lists it and not
 * `client_secret_basic`, and `client_secret_basic` in every other case (it is the default of
 * RFC 8414 when the list is absent).
 * @param supported the endpoint's `*_auth_methods_supported` from discovery, when there was one
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export function chooseClientAuthMethod(
  supported: unknown,
  hasSecret: boolean,
  configured?: "client_secret_basic" | "client_secret_post" | undefined,
): ClientAuthMethod {
  if (!hasSecret) return "none";
  if (configured) return configured;
  const listed = Array.isArray(supported) ? supported : [];
  return listed.includes("client_secret_post") && !listed.includes("client_secret_basic") ? "client_secret_post" : "client_secret_basic";
}
