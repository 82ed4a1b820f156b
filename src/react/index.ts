export { OAuthProvider } from "./OAuthProvider.js";
export type { OAuthProviderProps } from "./OAuthProvider.js";
export { useAuth, useAuthFetch } from "./useAuth.js";
export type { UseAuthResult } from "./useAuth.js";
export { RequireAuth } from "./RequireAuth.js";
export type { RequireAuthProps } from "./RequireAuth.js";
export { Callback } from "./Callback.js";
export type { CallbackProps } from "./Callback.js";
export { AuthErrorMessage } from "./AuthErrorMessage.js";

// The core's public API, so that apps need one import.
export { createAuthClient, AuthError, AuthErrorCode, extractQueryParams, sanitizeReturnTo } from "../core/index.js";
export type {
  AuthClient,
  AuthConfig,
  AuthEndpoints,
  AuthErrorOptions,
  AuthEvents,
  AuthSnapshot,
  AuthStatus,
  AuthUser,
  Claims,
  LoginOptions,
  LogoutOptions,
  TokenOptions,
  StorageLike,
  StorageOption,
} from "../core/index.js";
