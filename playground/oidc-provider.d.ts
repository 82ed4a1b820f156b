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
    readonly clientName?: string | undefined;
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

  /** What an API (a resource server, RFC 8707) is to the IdP: the access tokens it gets. */
  export interface ResourceServerInfo {
    /** Space-separated scopes the API defines. */
    scope: string;
    /** The `aud` of its access tokens. */
    audience?: string;
    /** Seconds. */
    accessTokenTTL?: number;
    accessTokenFormat?: "opaque" | "jwt";
    jwt?: { sign?: { alg: string } };
  }

  /** The slice of Koa's context that the page-rendering hooks (logoutSource, renderError) use. */
  export interface PageContext {
    body: unknown;
    type: string;
    /** The request's Host header. */
    readonly host: string;
    set(field: string, value: string): void;
    readonly oidc: { readonly client?: Client | undefined };
  }

  /** What the missing grants of a `consent` prompt are. */
  export interface PromptDetails {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  }

  /** A user interaction in progress (login or consent), as `interactionDetails` returns it. */
  export interface Interaction {
    readonly uid: string;
    readonly prompt: { readonly name: string; readonly details: PromptDetails };
    /** The authorization request's parameters. */
    readonly params: { readonly client_id: string; readonly scope?: string; readonly login_hint?: string; readonly [name: string]: unknown };
    /** Set once the user has signed in at the IdP. */
    readonly session?: { readonly accountId: string } | undefined;
    /** The grant this client already holds for the user, if any. */
    readonly grantId?: string | undefined;
  }

  /** Either a step the user completed, or the error the client receives (e.g. access_denied). */
  export type InteractionResult =
    | { login: { accountId: string } }
    | { consent: { grantId: string } }
    | { error: string; error_description?: string };

  export interface Grant {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(indicator: string, scope: string): void;
    /** Resolves to the grant's id. */
    save(): Promise<string>;
  }

  export interface GrantConstructor {
    new (properties: { accountId: string; clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
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
    /** Where the authorization endpoint sends the user to sign in or consent (a path on the issuer). */
    interactions?: { url?: (ctx: unknown, interaction: Interaction) => string | Promise<string> };
    /** Renders an error the user sees in the browser; `out` holds `error` and `error_description`. */
    renderError?: (ctx: PageContext, out: Record<string, string>, error: unknown) => void | Promise<void>;
    features?: {
      devInteractions?: Toggle;
      clientCredentials?: Toggle;
      introspection?: Toggle;
      revocation?: Toggle;
      /** RFC 8707: a `resource` parameter names the API an access token is for. */
      resourceIndicators?: Toggle & {
        /** The resource of a request that names none; `oneOf` lists those granted, when there are. */
        defaultResource?: (ctx: unknown, client: Client, oneOf?: string[]) => string | string[] | undefined | Promise<string | string[] | undefined>;
        /** Whether a refresh or code exchange naming no resource gets a token for the one granted. */
        useGrantedResource?: (ctx: unknown, model: unknown) => boolean | Promise<boolean>;
        /** Throws errors.InvalidTarget for an unknown indicator. */
        getResourceServerInfo?: (ctx: unknown, indicator: string, client: Client) => ResourceServerInfo | Promise<ResourceServerInfo>;
      };
      rpInitiatedLogout?: Toggle & {
        /** `form` is the hidden form (with its XSRF token) that the page's buttons submit. */
        logoutSource?: (ctx: PageContext, form: string) => void | Promise<void>;
        postLogoutSuccessSource?: (ctx: PageContext) => void | Promise<void>;
      };
      userinfo?: Toggle;
    };
  }

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    /** Static clients are validated lazily, on their first find(). */
    readonly Client: { find(clientId: string): Promise<Client | undefined> };
    readonly Grant: GrantConstructor;
    /** The interaction named by the request's interaction cookie; throws when there is none. */
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    /** Stores the result and answers with a 303 back to the authorization endpoint. */
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResult,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    /** Koa's request listener (Provider extends Koa). */
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export const errors: {
    /** invalid_target: the `resource` names no API this IdP knows. */
    InvalidTarget: new (description?: string) => Error;
  };

  export default Provider;
}
