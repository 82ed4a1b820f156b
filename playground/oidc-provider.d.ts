// oidc-provider 9.x ships no type declarations and @types/oidc-provider is not
// installed, so this describes only the slice of its API the test harness uses.
// Keep it narrow: anything not listed here is not relied upon by the tests.
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    redirect_uris?: string[];
    post_logout_redirect_uris?: string[];
    grant_types?: string[];
    response_types?: string[];
    /** oidc-provider accepts exactly one method per client. */
    token_endpoint_auth_method?: string;
    scope?: string;
    // Any other registered client metadata (client_name, logo_uri, ...).
    [metadata: string]: unknown;
  }

  /** The runtime Client model handed to configuration callbacks. */
  export interface Client {
    readonly clientId: string;
    readonly clientAuthMethod: string;
    grantTypeAllowed(grantType: string): boolean;
  }

  export interface AccountClaims {
    sub: string;
    [claim: string]: unknown;
  }

  export interface Account {
    accountId: string;
    claims(
      use: string,
      scope: string,
      claims: Record<string, unknown>,
      rejected: string[],
    ): AccountClaims | Promise<AccountClaims>;
  }

  export type RouteName =
    | "authorization"
    | "end_session"
    | "introspection"
    | "jwks"
    | "revocation"
    | "token"
    | "userinfo";

  export type TtlName =
    | "AccessToken"
    | "AuthorizationCode"
    | "Grant"
    | "IdToken"
    | "Interaction"
    | "RefreshToken"
    | "Session";

  interface Toggle {
    enabled: boolean;
  }

  export interface Configuration {
    clients?: ClientMetadata[];
    findAccount?: (
      ctx: unknown,
      sub: string,
      token?: unknown,
    ) => Account | undefined | Promise<Account | undefined>;
    claims?: Record<string, string[] | null>;
    scopes?: string[];
    responseTypes?: string[];
    conformIdTokenClaims?: boolean;
    issueRefreshToken?: (ctx: unknown, client: Client, code: unknown) => boolean | Promise<boolean>;
    rotateRefreshToken?: boolean | ((ctx: unknown) => boolean | Promise<boolean>);
    pkce?: { required?: (ctx: unknown, client: Client) => boolean };
    routes?: Partial<Record<RouteName, string>>;
    ttl?: Partial<Record<TtlName, number>>;
    cookies?: { keys?: string[] };
    clientBasedCORS?: (ctx: unknown, origin: string, client: Client) => boolean;
    features?: {
      devInteractions?: Toggle;
      introspection?: Toggle;
      revocation?: Toggle;
      rpInitiatedLogout?: Toggle;
      userinfo?: Toggle;
    };
  }

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    /** Static clients are validated lazily, on their first find(). */
    readonly Client: { find(clientId: string): Promise<Client | undefined> };
    /** Koa's request listener (Provider extends Koa). */
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export default Provider;
}
