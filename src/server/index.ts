export { createTokenProxy } from "./createTokenProxy.js";
export { PROXY_HEADER, REFUSED_HEADER } from "../shared/http.js";
export type { TokenProxy, TokenProxyOptions } from "./createTokenProxy.js";
export { toNodeHandler } from "./toNodeHandler.js";
export { createTokenVerifier } from "./createTokenVerifier.js";
export type { AuthInfo, IntrospectionOptions, TokenVerifier, TokenVerifierOptions, VerifyOptions } from "./createTokenVerifier.js";
export { requireAuth } from "./requireAuth.js";
export type { AuthenticatedRequest } from "./requireAuth.js";
export { withAuth } from "./withAuth.js";
export { createOAuthClient } from "./createOAuthClient.js";
export type {
  AuthorizationCodeParams,
  AuthorizationUrlParams,
  ClientCredentialsParams,
  GetAccessTokenOptions,
  IntrospectionResult,
  OAuthClient,
  OAuthClientOptions,
  PasswordParams,
  RefreshOptions,
  TokenTypeHint,
} from "./createOAuthClient.js";
export { createToken } from "./createToken.js";
export type { TokenInput, TokenSet, TokenSetJSON } from "./createToken.js";
export type { DebugOption } from "./debug.js";
export type { HeaderGetter, HeaderRecord, RequestLike } from "./requestHeaders.js";
export type { Scope } from "./scopes.js";
export { AuthError, AuthErrorCode } from "../shared/AuthError.js";
export type { AuthErrorOptions } from "../shared/AuthError.js";
