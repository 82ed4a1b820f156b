// A real OpenID Provider (oidc-provider) on 127.0.0.1 for the playground and the integration
// tests, with its own sign-in, consent and sign-out pages (idpPages.ts), plus test-only control
// routes (stats, fault injection) served on the same origin.
//
// Run this in a plain Node process (vitest globalSetup), never inside the jsdom
// environment: jsdom replaces the global Uint8Array/ArrayBuffer, which breaks jose
// inside oidc-provider and turns every token request into server_error.
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Account, ClientMetadata, Configuration, Interaction, PageContext, Provider, ResourceServerInfo } from "oidc-provider";
import {
  API_SCOPES,
  CONFIDENTIAL_CLIENT_ID,
  CONFIDENTIAL_CLIENT_SECRET,
  POST_LOGOUT_REDIRECT_URI,
  PUBLIC_CLIENT_ID,
  REDIRECT_URI,
  TEST_ROUTES,
  emptyStats,
  parseFault,
} from "./idpShared.js";
import type { IdpFault, IdpStats, TokenStats } from "./idpShared.js";
import { FAVICON_SVG, PAGE_CSP, consentPage, errorPage, loginPage, logoutPage, signedOutPage } from "./idpPages.js";

export * from "./idpShared.js";

export interface IdpOptions {
  /** Defaults to 0 (an ephemeral port). */
  port?: number;
  /** Seconds; default 300. */
  accessTokenTtl?: number;
  /** Seconds; default 3600. */
  refreshTokenTtl?: number;
  /** Seconds; oidc-provider's default (3600) when omitted. */
  idTokenTtl?: number;
  /** Extra clients, or overrides merged field by field into a built-in client with the same client_id. */
  clients?: ClientMetadata[];
  /**
   * APIs (resource servers, RFC 8707) that get JWT access tokens: an authorization or token
   * request naming one in its `resource` parameter gets an RS256 JWT with that `aud`, which the
   * API checks against the JWKS alone; its refreshes keep the resource granted. Requests naming
   * no resource get opaque access tokens, as without this option, which userinfo accepts.
   */
  apis?: ApiResource[];
  /** Drop oidc-provider's development-mode console notices; default true. */
  quiet?: boolean;
}

/** An API registered at the IdP as a resource server. */
export interface ApiResource {
  /** The resource indicator a client sends, and the `aud` of the API's tokens: an absolute URI. */
  audience: string;
  /** The scopes the API defines; a token carries those of them the client asked for and was granted. */
  scopes: readonly string[];
  /** Access-token lifetime in seconds. @default the IdP's `accessTokenTtl` */
  accessTokenTtl?: number;
}

export interface IdpEndpoints {
  authorization: string;
  token: string;
  revocation: string;
  endSession: string;
  jwks: string;
  userinfo: string;
}

export interface TestIdp {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  issuer: string;
  port: number;
  /** Absolute endpoint URLs, as advertised in discovery. */
  endpoints: IdpEndpoints;
  url(path: string): string;
  stats(): IdpStats;
  reset(): void;
  setFault(fault: IdpFault): void;
  provider: Provider;
  close(): Promise<void>;
}

// Passed to oidc-provider as its routes so the counters below cannot drift from
// what the provider actually serves (these equal oidc-provider's defaults).
const ROUTES = {
  authorization: "/auth",
  token: "/token",
  revocation: "/token/revocation",
  end_session: "/session/end",
  jwks: "/jwks",
  userinfo: "/me",
} as const;

const DISCOVERY_PATHS: ReadonlySet<string> = new Set([
  "/.well-known/openid-configuration",
  "/.well-known/oauth-authorization-server",
]);

const MAX_BODY_BYTES = 1024 * 1024;

type RequestListener = (req: IncomingMessage, res: ServerResponse) => Promise<void>;
type CountedEndpoint = Exclude<keyof IdpStats, "token" | "tokenErrors">;

export async function startIdp(options: IdpOptions = {}): Promise<TestIdp> {
  assertNodeRealm();
  if (options.quiet !== false) silenceOidcProviderNotices();
  // Imported lazily so the filter above is in place before oidc-provider's
  // module-level "Unsupported runtime" warning (Node 20) fires.
  const { default: ProviderClass, errors } = await import("oidc-provider");

  const server = createServer();
  const port = await listen(server, options.port ?? 0);
  const issuer = `http://127.0.0.1:${port}`;

  const control = new IdpControl();
  const configuration = buildConfiguration(options, () => new errors.InvalidTarget());
  let provider: Provider;
  try {
    provider = new ProviderClass(issuer, configuration);
    // oidc-provider checks static client metadata only when a client is first
    // used; surface mistakes in options.clients here, not as invalid_client mid-test.
    await validateClients(provider, configuration.clients ?? []);
  } catch (error) {
    await closeServer(server, control);
    throw error;
  }
  provider.on("server_error", logServerError);

  const route = createRouter(provider, control);
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((error: unknown) => failRequest(res, error));
  });

  const url = (path: string): string => new URL(path, issuer).href;
  return {
    issuer,
    port,
    endpoints: {
      authorization: url(ROUTES.authorization),
      token: url(ROUTES.token),
      revocation: url(ROUTES.revocation),
      endSession: url(ROUTES.end_session),
      jwks: url(ROUTES.jwks),
      userinfo: url(ROUTES.userinfo),
    },
    url,
    stats: () => control.snapshot(),
    reset: () => control.reset(),
    setFault: (fault) => control.setFault(fault),
    provider,
    close: () => closeServer(server, control),
  };
}

/** Fail fast instead of letting every token request answer server_error later. */
function assertNodeRealm(): void {
  // Under jsdom the global Uint8Array is jsdom's, so Node's own buffers fail
  // jose's `instanceof Uint8Array` checks when signing tokens.
  if (!(Buffer.from("") instanceof Uint8Array)) {
    throw new Error(
      "startIdp() must run in a Node environment (vitest globalSetup or environment: node), " +
        "not jsdom: jsdom's Uint8Array breaks jose inside oidc-provider. " +
        "From jsdom tests use inject(\"idpIssuer\") and test/support/idpControl.ts.",
    );
  }
}

// ---------------------------------------------------------------------------
// oidc-provider configuration

function buildConfiguration(options: IdpOptions, invalidTarget: () => Error): Configuration {
  const accessTokenTtl = options.accessTokenTtl ?? 300;
  const ttl: NonNullable<Configuration["ttl"]> = {
    AccessToken: accessTokenTtl,
    RefreshToken: options.refreshTokenTtl ?? 3600,
  };
  if (options.idTokenTtl !== undefined) ttl.IdToken = options.idTokenTtl;
  const apis = new Map(
    (options.apis ?? []).map((api): [string, ResourceServerInfo] => [
      api.audience,
      {
        audience: api.audience,
        scope: api.scopes.join(" "),
        accessTokenFormat: "jwt",
        accessTokenTTL: api.accessTokenTtl ?? accessTokenTtl,
        jwt: { sign: { alg: "RS256" } },
      },
    ]),
  );
  const clients = mergeClients(defaultClients(), options.clients ?? []);

  return {
    clients,
    findAccount: (_ctx, sub) => testAccount(sub),
    // oidc-provider only maps `openid -> sub` by default; profile/email claims
    // must be declared for the standard scopes to release anything.
    claims: {
      openid: ["sub"],
      profile: ["name"],
      email: ["email", "email_verified"],
    },
    // Declared scopes are the only ones oidc-provider grants, so plain OAuth 2.0
    // requests (without `openid`) need a non-OIDC scope of their own.
    // (An API's scopes too: a client's registered `scope` may only list declared ones.)
    scopes: [...new Set(["openid", "offline_access", ...API_SCOPES, ...(options.apis ?? []).flatMap((api) => api.scopes)])],
    responseTypes: ["code"],
    // Put profile/email claims in the ID token itself, not only in userinfo.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    // By default a refresh token needs offline_access + prompt=consent; SPAs
    // under test should get one whenever the client may use the grant.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    rotateRefreshToken: true,
    routes: ROUTES,
    ttl,
    // The playground's own pages (playground/idpPages.ts), not devInteractions': those load web
    // fonts from a CDN, which fails offline.
    interactions: { url: (_ctx, interaction) => interactionPath(interaction.uid) },
    renderError: (ctx, out) => showPage(ctx, errorPage(out.error ?? "server_error", out.error_description)),
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      clientCredentials: { enabled: clients.some((client) => client.grant_types?.includes("client_credentials")) },
      // oidc-provider 9 has resource indicators on, refusing every `resource` (invalid_target) until
      // told which APIs exist: requests naming none are the same with or without `options.apis`.
      resourceIndicators: {
        enabled: true,
        // A code exchange or refresh naming no resource (the SDK's never do) gets a token for the
        // one granted, even with `openid` in the scope, where oidc-provider would otherwise issue a
        // userinfo token.
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          const api = apis.get(indicator);
          if (!api) throw invalidTarget();
          return api;
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => showPage(ctx, logoutPage(ctx.host, form)),
        postLogoutSuccessSource: (ctx) => showPage(ctx, signedOutPage(ctx.oidc.client && clientName(ctx.oidc.client))),
      },
    },
    // Test-only: any origin (the playground, jsdom) may call the endpoints.
    clientBasedCORS: () => true,
  };
}

async function validateClients(provider: Provider, clients: ClientMetadata[]): Promise<void> {
  for (const { client_id: clientId } of clients) {
    try {
      await provider.Client.find(clientId);
    } catch (error) {
      throw new Error(`test IdP: invalid metadata for client "${clientId}": ${describeProviderError(error)}`, {
        cause: error,
      });
    }
  }
}

/** oidc-provider errors keep the useful part in error_description, not message. */
function describeProviderError(error: unknown): string {
  if (typeof error === "object" && error !== null && "error_description" in error) {
    return String(error.error_description);
  }
  return String(error);
}

function defaultClients(): ClientMetadata[] {
  const common = {
    redirect_uris: [REDIRECT_URI],
    post_logout_redirect_uris: [POST_LOGOUT_REDIRECT_URI],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
  };
  return [
    { ...common, client_id: PUBLIC_CLIENT_ID, token_endpoint_auth_method: "none" },
    {
      ...common,
      client_id: CONFIDENTIAL_CLIENT_ID,
      client_secret: CONFIDENTIAL_CLIENT_SECRET,
      // oidc-provider also accepts client_secret_post from a client registered
      // with client_secret_basic (and vice versa): one registration covers both.
      token_endpoint_auth_method: "client_secret_basic",
    },
  ];
}

function mergeClients(base: ClientMetadata[], extra: ClientMetadata[]): ClientMetadata[] {
  const byId = new Map(base.map((client) => [client.client_id, client]));
  for (const client of extra) {
    byId.set(client.client_id, { ...byId.get(client.client_id), ...client });
  }
  return [...byId.values()];
}

function testAccount(sub: string): Account {
  return {
    accountId: sub,
    claims: () => ({
      sub,
      name: `User ${sub}`,
      email: `${sub}@example.test`,
      email_verified: true,
    }),
  };
}

function logServerError(...args: unknown[]): void {
  // Real provider failures (e.g. jose breaking under a foreign realm) surface
  // to clients only as "server_error"; the cause is only visible here.
  const error = args.find((arg) => arg instanceof Error);
  console.error("[test-idp] oidc-provider server_error:", error ?? args[1]);
}

let noticesSilenced = false;

/** oidc-provider prints dev-mode notices (dev keys, memory adapter, Node 20 ...) on every start. */
function silenceOidcProviderNotices(): void {
  if (noticesSilenced) return;
  noticesSilenced = true;
  const isNotice = (args: unknown[]): boolean =>
    typeof args[0] === "string" && /oidc-provider (WARNING|NOTICE):/.test(args[0]);
  for (const level of ["warn", "info"] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      if (!isNotice(args)) original(...args);
    };
  }
}

// ---------------------------------------------------------------------------
// Counters and faults

class IdpControl {
  #stats = emptyStats();
  #fault: IdpFault | undefined;
  #remaining: number | undefined;
  readonly #hanging = new Set<ServerResponse>();

  snapshot(): IdpStats {
    return structuredClone(this.#stats);
  }

  count(endpoint: CountedEndpoint): void {
    this.#stats[endpoint] += 1;
  }

  countToken(grantType: string | null): void {
    const bucket: keyof TokenStats =
      grantType === "authorization_code" || grantType === "refresh_token" || grantType === "client_credentials" ? grantType : "other";
    this.#stats.token[bucket] += 1;
    this.#stats.token.total += 1;
  }

  countTokenError(): void {
    this.#stats.tokenErrors += 1;
  }

  setFault(fault: IdpFault): void {
    if (fault.token === "none") {
      this.#clearFault();
      return;
    }
    this.#fault = { ...fault };
    this.#remaining = fault.times;
  }

  /** The fault to apply to the current token request, consuming one of its `times`. */
  takeFault(): IdpFault | undefined {
    const fault = this.#fault;
    if (!fault || this.#remaining === undefined) return fault;
    this.#remaining -= 1;
    if (this.#remaining <= 0) this.#clearFault();
    return fault;
  }

  hold(res: ServerResponse): void {
    this.#hanging.add(res);
    res.once("close", () => this.#hanging.delete(res));
  }

  /** Drops held ("hang") requests by closing their connections. */
  releaseHanging(): void {
    for (const res of this.#hanging) res.socket?.destroy();
    this.#hanging.clear();
  }

  reset(): void {
    this.#stats = emptyStats();
    this.#clearFault();
    this.releaseHanging();
  }

  #clearFault(): void {
    this.#fault = undefined;
    this.#remaining = undefined;
  }
}

// ---------------------------------------------------------------------------
// Routing

function createRouter(provider: Provider, control: IdpControl): RequestListener {
  const callback = provider.callback();
  return async (req, res) => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    if (path.startsWith("/__test/")) {
      await handleTestRoute(req, res, path, control);
      return;
    }
    if (path === "/favicon.ico" || path === "/favicon.svg") {
      sendFavicon(res);
      return;
    }
    const interaction = INTERACTION_ROUTE.exec(path);
    if (interaction) {
      await handleInteraction(provider, req, res, interaction[1] as string, interaction[2] === "/abort");
      return;
    }
    if (path === ROUTES.token && req.method === "POST") {
      await handleToken(req, res, callback, control);
      return;
    }
    const endpoint = countedEndpoint(req.method, path);
    if (endpoint) control.count(endpoint);
    await callback(req, res);
  };
}

function countedEndpoint(method: string | undefined, path: string): CountedEndpoint | undefined {
  // Preflights never reach the endpoint logic, so they are not "requests" to it.
  if (method === "OPTIONS") return undefined;
  if (DISCOVERY_PATHS.has(path)) return "discovery";
  switch (path) {
    case ROUTES.authorization:
      return "authorization";
    case ROUTES.revocation:
      return "revocation";
    case ROUTES.end_session:
      return "endSession";
    case ROUTES.jwks:
      return "jwks";
    default:
      return undefined;
  }
}

async function handleToken(
  req: IncomingMessage,
  res: ServerResponse,
  callback: RequestListener,
  control: IdpControl,
): Promise<void> {
  // The body must be read here to count by grant_type, even for faulted requests.
  const body = await readBody(req);
  control.countToken(new URLSearchParams(body).get("grant_type"));

  const fault = control.takeFault();
  if (fault) {
    control.countTokenError();
    applyTokenFault(fault, req, res, control);
    return;
  }

  res.once("finish", () => {
    if (res.statusCode < 200 || res.statusCode >= 300) control.countTokenError();
  });
  // oidc-provider falls back to req.body when the stream was already consumed
  // (an empty string would be read as "no body", hence the empty object).
  Object.assign(req, { body: body === "" ? {} : body });
  await callback(req, res);
}

function applyTokenFault(
  fault: IdpFault,
  req: IncomingMessage,
  res: ServerResponse,
  control: IdpControl,
): void {
  const html = (status: number, text: string): string =>
    `<!DOCTYPE html><html><head><title>${status} ${text}</title></head><body><h1>${text}</h1></body></html>`;
  switch (fault.token) {
    case "down":
      req.socket.destroy();
      return;
    case "hang":
      control.hold(res);
      return;
    case "500-html":
      sendFault(res, 500, "text/html; charset=utf-8", html(500, "Internal Server Error"), fault);
      return;
    case "503-json":
      sendFault(res, 503, "application/json", JSON.stringify({ error: "temporarily_unavailable" }), fault);
      return;
    case "400-html":
      sendFault(res, 400, "text/html; charset=utf-8", html(400, "Bad Request"), fault);
      return;
    case "400-empty":
      sendFault(res, 400, undefined, "", fault);
      return;
    case "none":
      // Never stored by IdpControl.setFault; kept for exhaustiveness.
      return;
  }
}

function sendFault(
  res: ServerResponse,
  status: number,
  contentType: string | undefined,
  body: string,
  fault: IdpFault,
): void {
  const headers: Record<string, string> = {
    "cache-control": "no-store",
    // Lets a browser-based client see the status instead of a CORS failure.
    "access-control-allow-origin": "*",
    "content-length": String(Buffer.byteLength(body)),
  };
  if (contentType) headers["content-type"] = contentType;
  if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
  res.writeHead(status, headers).end(body);
}

async function handleTestRoute(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  control: IdpControl,
): Promise<void> {
  // Test-only endpoints: callable from anywhere, including a browser playground.
  res.setHeader("access-control-allow-origin", "*");
  res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
  res.setHeader("access-control-allow-headers", "content-type");
  res.setHeader("cache-control", "no-store");

  if (req.method === "OPTIONS") {
    res.writeHead(204).end();
  } else if (path === TEST_ROUTES.stats && req.method === "GET") {
    sendJson(res, 200, control.snapshot());
  } else if (path === TEST_ROUTES.reset && req.method === "POST") {
    control.reset();
    res.writeHead(204).end();
  } else if (path === TEST_ROUTES.fault && req.method === "POST") {
    await handleFaultRoute(req, res, control);
  } else {
    sendJson(res, 404, { error: "not_found", error_description: `no test route ${req.method} ${path}` });
  }
}

async function handleFaultRoute(req: IncomingMessage, res: ServerResponse, control: IdpControl): Promise<void> {
  let fault: IdpFault;
  try {
    fault = parseFault(JSON.parse(await readBody(req)));
  } catch (error) {
    const description = error instanceof Error ? error.message : String(error);
    sendJson(res, 400, { error: "invalid_request", error_description: description });
    return;
  }
  control.setFault(fault);
  res.writeHead(204).end();
}

// ---------------------------------------------------------------------------
// Interactions: the sign-in and consent pages

const INTERACTION_ROUTE = /^\/interaction\/([\w-]+)(\/abort)?$/;

function interactionPath(uid: string): string {
  return `/interaction/${uid}`;
}

/**
 * GET shows the page the prompt needs (login, then consent); POST completes it; GET .../abort
 * cancels, which sends the client error=access_denied. Any username signs in as that account.
 */
async function handleInteraction(provider: Provider, req: IncomingMessage, res: ServerResponse, uid: string, abort: boolean): Promise<void> {
  let interaction: Interaction;
  try {
    interaction = await provider.interactionDetails(req, res);
  } catch (error) {
    // No interaction cookie, or the interaction expired or already finished.
    if (!(error instanceof Error && error.name === "SessionNotFound")) throw error;
    sendHtml(res, 400, errorPage("invalid_request", "This sign-in has expired or is already complete."));
    return;
  }
  // The interaction cookie names the newest sign-in: an older tab's page must not complete it.
  if (interaction.uid !== uid) {
    sendHtml(res, 400, errorPage("invalid_request", "This page belongs to an older sign-in, started again since."));
    return;
  }
  const { prompt, params } = interaction;
  if (abort) {
    if (req.method !== "GET") return sendMethodNotAllowed(res, "GET");
    const result = { error: "access_denied", error_description: "End-User aborted interaction" };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    return;
  }
  if (req.method === "GET") {
    const client = await provider.Client.find(params.client_id);
    const name = client ? clientName(client) : params.client_id;
    const urls = { submitUrl: interactionPath(uid), abortUrl: `${interactionPath(uid)}/abort` };
    if (prompt.name === "login") {
      sendHtml(res, 200, loginPage({ client: name, loginHint: params.login_hint, ...urls }));
    } else if (prompt.name === "consent") {
      const scopes = (params.scope ?? "").split(" ").filter(Boolean);
      sendHtml(res, 200, consentPage({ client: name, accountId: interaction.session?.accountId ?? "", scopes, ...urls }));
    } else {
      sendHtml(res, 501, errorPage("server_error", `The local IdP has no page for the "${prompt.name}" prompt.`));
    }
    return;
  }
  if (req.method !== "POST") return sendMethodNotAllowed(res, "GET, POST");

  const form = new URLSearchParams(await readBody(req));
  if (form.get("prompt") !== prompt.name) {
    sendHtml(res, 400, errorPage("invalid_request", `This sign-in is waiting for "${prompt.name}", not "${form.get("prompt") ?? ""}".`));
    return;
  }
  if (prompt.name === "login") {
    const accountId = form.get("login")?.trim() ?? "";
    if (!accountId) {
      sendHtml(res, 400, errorPage("invalid_request", "Enter a username."));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
    return;
  }
  // Consent: grant what the prompt found missing, to the grant the client already holds if any.
  const accountId = interaction.session?.accountId;
  if (!accountId) {
    sendHtml(res, 400, errorPage("invalid_request", "Sign in before giving consent."));
    return;
  }
  const grant = (interaction.grantId && (await provider.Grant.find(interaction.grantId))) || new provider.Grant({ accountId, clientId: params.client_id });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(" "));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(" "));
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

function clientName(client: { clientId: string; clientName?: string | undefined }): string {
  return client.clientName || client.clientId;
}

/** For oidc-provider's own page hooks (logout, post-logout, errors); the status is already set. */
function showPage(ctx: PageContext, html: string): void {
  ctx.type = "html";
  ctx.set("content-security-policy", PAGE_CSP);
  ctx.body = html;
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(html),
    "content-security-policy": PAGE_CSP,
    "cache-control": "no-store",
  });
  res.end(html);
}

function sendMethodNotAllowed(res: ServerResponse, allow: string): void {
  res.writeHead(405, { allow, "content-length": 0 }).end();
}

function sendFavicon(res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "image/svg+xml",
    "content-length": Buffer.byteLength(FAVICON_SVG),
    "cache-control": "public, max-age=86400",
  });
  res.end(FAVICON_SVG);
}

// ---------------------------------------------------------------------------
// HTTP plumbing

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large");
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function failRequest(res: ServerResponse, error: unknown): void {
  console.error("[test-idp] request handling failed:", error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, 500, { error: "server_error", error_description: "test IdP harness failure" });
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port }, () => {
      server.off("error", reject);
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error("test IdP did not get a TCP address"));
        return;
      }
      resolve(address.port);
    });
  });
}

function closeServer(server: Server, control: IdpControl): Promise<void> {
  control.releaseHanging();
  return new Promise((resolve) => {
    // close() alone waits for keep-alive sockets (undici keeps them open), which
    // would hold vitest's exit; force them shut.
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
