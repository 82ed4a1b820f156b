export { createAuthClient } from "./createAuthClient.js";
export type { AuthClient, AuthEvents, LoginOptions, LogoutOptions, TokenOptions } from "./AuthClient.js";
export { AuthError, AuthErrorCode } from "../shared/AuthError.js";
export type { AuthErrorOptions } from "../shared/AuthError.js";
export type { AuthConfig, AuthEndpoints, StorageLike, StorageOption } from "./config.js";
export type { AuthSnapshot, AuthStatus, AuthUser } from "./authState.js";
export type { Claims } from "./session.js";
export { extractQueryParams } from "./extractQueryParams.js";
export { sanitizeReturnTo } from "./sanitizeReturnTo.js";
