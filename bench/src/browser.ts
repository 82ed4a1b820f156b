// The SDKs in Debian's Chromium against the local oidc-provider (playground/idp.ts, refresh-token
// rotation on), every request counted at the IdP: a login under StrictMode, the callback page,
// 20 concurrent token calls on an expired token, three tabs at once, and where tokens are left.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { build, type Plugin } from "esbuild";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { createTokenProxy, toNodeHandler } from "react-sso-kit/server";
import { emptyStats, startIdp, type IdpStats, type TestIdp } from "../../playground/idp.js";
import { BENCH_DIR, ROOT_DIR, closeServer, listen, log, withTimeout } from "./common.js";

export interface BrowserSdk {
  id: string;
  label: string;
  app: "reactSso" | "oidcContext" | "auth0" | "axa" | "codePkce";
  /** How the app gets a token when asked (the SDK's getAccessToken or what stands for it). */
  tokenCall: string;
  proxy?: boolean;
  serviceWorker?: boolean;
  auth0?: boolean;
}

export const BROWSER_SDKS: readonly BrowserSdk[] = [
  { id: "react-sso", label: "react-sso (public client)", app: "reactSso", tokenCall: "getAccessToken()" },
  { id: "react-sso-proxy", label: "react-sso via token proxy (cookie mode)", app: "reactSso", tokenCall: "getAccessToken()", proxy: true },
  { id: "react-oidc-context", label: "react-oidc-context + oidc-client-ts", app: "oidcContext", tokenCall: "user.expired ? signinSilent() : user.access_token" },
  { id: "auth0-react", label: "@auth0/auth0-react", app: "auth0", tokenCall: "getAccessTokenSilently()", auth0: true },
  { id: "axa", label: "@axa-fr/react-oidc", app: "axa", tokenCall: "OidcClient.get().getValidTokenAsync()" },
  { id: "axa-sw", label: "@axa-fr/react-oidc + service worker", app: "axa", tokenCall: "OidcClient.get().getValidTokenAsync()", serviceWorker: true },
  { id: "code-pkce", label: "react-oauth2-code-pkce", app: "codePkce", tokenCall: "expired ? refreshAccessToken() : token" },
];

/** Counts at the IdP over one step. `refresh` = refresh_token grants; `silent` = authorization requests made without the user. */
export interface StepCounts {
  discovery: number;
  authorization: number;
  authorizationCode: number;
  refresh: number;
  tokenErrors: number;
  jwks: number;
  total: number;
}

export interface CallerOutcome {
  callers: number;
  /** Callers whose promise resolved with a token the IdP accepts and that was issued after the expiry. */
  valid: number;
  rejected: number;
  counts: StepCounts;
  errors: string[];
}

export type StorageArea = "localStorage" | "sessionStorage" | "indexedDB" | "cookies (JS)";
export type TokenKind = "access" | "refresh" | "id";

export interface BrowserRow {
  sdk: string;
  label: string;
  tokenCall: string;
  /** A whole login under StrictMode, from the first page to signed in and quiet. */
  login: StepCounts;
  /** From the browser landing on the callback URL to the app showing "authenticated". */
  callback: StepCounts;
  concurrent: CallerOutcome;
  tabs: CallerOutcome;
  storage: Record<StorageArea, TokenKind[]>;
  /** Cookies a script can read (names only). */
  readableCookies: string[];
  error?: string;
}

const CALLERS = 20;
const TABS = 3;
/**
 * The jump passes the 300 s access-token lifetime by a minute and stays well within the ID
 * token's hour (clients check its exp) and react-oauth2-code-pkce's guess of the refresh token's
 * lifetime (the access token's plus 10 minutes): expired, nothing else.
 */
const FIRST_JUMP_MS = 6 * 60_000;
const ACCESS_TOKEN_TTL = 300;

const zero = (): StepCounts => ({ discovery: 0, authorization: 0, authorizationCode: 0, refresh: 0, tokenErrors: 0, jwks: 0, total: 0 });
function diff(after: IdpStats, before: IdpStats | undefined): StepCounts {
  const b = before ?? emptyStats();
  const counts: StepCounts = {
    discovery: after.discovery - b.discovery,
    authorization: after.authorization - b.authorization,
    authorizationCode: after.token.authorization_code - b.token.authorization_code,
    refresh: after.token.refresh_token - b.token.refresh_token,
    tokenErrors: after.tokenErrors - b.tokenErrors,
    jwks: after.jwks - b.jwks,
    total: 0,
  };
  counts.total = counts.discovery + counts.authorization + (after.token.total - b.token.total) + counts.jwks + (after.revocation - b.revocation) + (after.endSession - b.endSession);
  return counts;
}

/** One React for every bundle: the peers and this repository's sources must not bring their own. */
function singleReact(): Plugin {
  return {
    name: "single-react",
    setup(build) {
      build.onResolve({ filter: /^(react|react-dom|scheduler)(\/.*)?$/ }, async (args) => {
        if (args.pluginData === "single-react") return undefined;
        return build.resolve(args.path, { kind: args.kind, resolveDir: BENCH_DIR, pluginData: "single-react" });
      });
    },
  };
}

async function buildApps(apps: ReadonlySet<string>): Promise<Map<string, string>> {
  const result = await build({
    entryPoints: Object.fromEntries([...apps].map((app) => [app, join(BENCH_DIR, `src/apps/${app}.tsx`)])),
    absWorkingDir: BENCH_DIR,
    outdir: "out",
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    jsx: "automatic",
    // The development build: StrictMode runs every effect twice only there, which is the point.
    define: { "process.env.NODE_ENV": '"development"' },
    alias: { "react-sso-kit": join(ROOT_DIR, "src/react/index.ts") },
    plugins: [singleReact()],
    write: false,
    logLevel: "warning",
  });
  return new Map(result.outputFiles.map((file) => [file.path.replace(/^.*\/out\//, "").replace(/\.js$/, ""), file.text]));
}

interface Servers {
  origin: string;
  idp: TestIdp;
  auth0Domain: string;
  /** IdP counters at the moment the browser asked for each app's callback page. */
  landed: Map<string, IdpStats>;
  /** Every access and refresh token the IdP issued, to find them in the browser's storage. */
  issued: { access: Set<string>; refresh: Set<string> };
  close(): Promise<void>;
}

const html = (config: object, base: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>bench</title></head><body><div id="root"></div>` +
  `<script>window.__BENCH__ = ${JSON.stringify(config)};</script><script type="module" src="${base}/app.js"></script></body></html>`;

async function startServers(sdks: readonly BrowserSdk[], bundles: Map<string, string>): Promise<Servers> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closeOne of closers.reverse()) await closeOne().catch(() => undefined);
  };
  try {
    const app = createServer();
    const port = await listen(app);
    closers.push(() => closeServer(app));
    const origin = `http://127.0.0.1:${port}`;
    const front = createServer();
    const frontPort = await listen(front);
    closers.push(() => closeServer(front));
    const auth0Domain = `http://127.0.0.1:${frontPort}`;

    const proxySecret = randomBytes(24).toString("base64url");
    const idp = await startIdp({
      accessTokenTtl: ACCESS_TOKEN_TTL,
      clients: sdks.map((sdk) => ({
        client_id: `bench-${sdk.id}`,
        redirect_uris: [`${origin}/${sdk.id}/callback`],
        post_logout_redirect_uris: [`${origin}/${sdk.id}/`],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        ...(sdk.proxy ? { client_secret: proxySecret, token_endpoint_auth_method: "client_secret_basic" } : { token_endpoint_auth_method: "none" }),
      })),
    });
    closers.push(() => idp.close());
    const issued = { access: new Set<string>(), refresh: new Set<string>() };
    idp.provider.on("access_token.saved", (token) => issued.access.add((token as { jti: string }).jti));
    idp.provider.on("refresh_token.saved", (token) => issued.refresh.add((token as { jti: string }).jti));

    const proxied = sdks.find((sdk) => sdk.proxy);
    const proxy = proxied
      ? toNodeHandler(
          createTokenProxy({
            issuer: idp.issuer,
            clientId: `bench-${proxied.id}`,
            clientSecret: proxySecret,
            allowedOrigins: [origin],
            redirectUris: [`${origin}/${proxied.id}/callback`],
            cookie: { secrets: [randomBytes(32).toString("base64url")] },
          }),
        )
      : undefined;
    const serviceWorker = SW_CLOCK + (await readFile(join(BENCH_DIR, "node_modules/@axa-fr/oidc-client-service-worker/dist/OidcServiceWorker.js"), "utf8"));
    const landed = new Map<string, IdpStats>();
    const byId = new Map(sdks.map((sdk) => [sdk.id, sdk]));

    app.on("request", (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? "/", origin);
      const [, id = "", ...rest] = url.pathname.split("/");
      const sdk = byId.get(id);
      const page = rest.join("/");
      const send = (status: number, type: string, body: string) => res.writeHead(status, { "content-type": type, "cache-control": "no-store" }).end(body);
      if (!sdk) return send(404, "text/plain", "not found");
      if (page === "auth/token" && proxy) return void proxy(req, res);
      if (page === "app.js") return send(200, "text/javascript", bundles.get(sdk.app) ?? "");
      if (page === "OidcServiceWorker.js") return send(200, "text/javascript", serviceWorker);
      if (page === "OidcTrustedDomains.js") return send(200, "text/javascript", `const trustedDomains = { default: [${JSON.stringify(idp.issuer)}] };`);
      if (page === "favicon.ico") return send(404, "text/plain", "");
      if (page === "callback" && url.searchParams.has("code")) landed.set(sdk.id, idp.stats());
      const config = {
        sdk: sdk.id,
        issuer: idp.issuer,
        clientId: `bench-${sdk.id}`,
        base: `/${sdk.id}`,
        origin,
        ...(sdk.auth0 && { auth0Domain }),
        ...(sdk.proxy && { tokenProxy: `/${sdk.id}/auth/token` }),
        ...(sdk.serviceWorker && { serviceWorker: true }),
      };
      send(200, "text/html; charset=utf-8", html(config, `/${sdk.id}`));
    });
    front.on("request", (req: IncomingMessage, res: ServerResponse) => auth0Front(req, res, idp.issuer, auth0Domain));
    return { origin, idp, auth0Domain, landed, issued, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Playwright's clock reaches pages, not service workers; a browser's clock moves for both. This
 * runs before @axa-fr's service worker script and moves its Date by what the harness posts.
 */
const SW_CLOCK = `(() => {
  const RealDate = Date;
  let offset = 0;
  self.Date = class extends RealDate {
    constructor(...args) { if (args.length === 0) super(RealDate.now() + offset); else super(...args); }
    static now() { return RealDate.now() + offset; }
  };
  self.addEventListener("message", (event) => {
    if (typeof event.data?.__benchClockOffsetMs !== "number") return;
    offset = event.data.__benchClockOffsetMs;
    event.stopImmediatePropagation();
    event.ports[0]?.postMessage("ok");
  });
})();
`;

/** Moves every tab's clock (and the service worker's) to `at`, firing no timer. */
async function setClock(context: BrowserContext, page: Page, sdk: BrowserSdk, at: number): Promise<void> {
  await context.clock.setSystemTime(at);
  if (!sdk.serviceWorker) return;
  await withTimeout(
    page.evaluate(async (offset) => {
      const registration = await navigator.serviceWorker.ready;
      const channel = new MessageChannel();
      const ack = new Promise((resolve) => (channel.port1.onmessage = resolve));
      registration.active?.postMessage({ __benchClockOffsetMs: offset }, [channel.port2]);
      await ack;
    }, at - Date.now()),
    10_000,
    "moving the service worker's clock",
  );
}

const AUTH0_PATHS: Record<string, string> = { "/authorize": "/auth", "/oauth/token": "/token", "/v2/logout": "/session/end" };

/**
 * auth0-spa-js only speaks Auth0's URL layout (/authorize, /oauth/token) and expects `iss` to be
 * `<domain>/`. This front maps the paths onto the local IdP one request for one request (so the
 * IdP still counts every one) and rewrites `iss` in the ID tokens it relays; auth0-spa-js checks
 * the claims, not the signature, so nothing else changes.
 */
function auth0Front(req: IncomingMessage, res: ServerResponse, issuer: string, domain: string): void {
  const url = new URL(req.url ?? "/", domain);
  const path = AUTH0_PATHS[url.pathname] ?? url.pathname;
  const target = new URL(path + url.search, issuer);
  const upstream = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
    if (path !== "/token" || req.method !== "POST") {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      return;
    }
    const chunks: Buffer[] = [];
    answer.on("data", (chunk: Buffer) => chunks.push(chunk));
    answer.on("end", () => {
      let body = Buffer.concat(chunks).toString("utf8");
      try {
        const json = JSON.parse(body) as { id_token?: string };
        if (json.id_token) {
          const [header, payload, signature] = json.id_token.split(".");
          const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
          json.id_token = [header, Buffer.from(JSON.stringify({ ...claims, iss: `${domain}/` })).toString("base64url"), signature].join(".");
          body = JSON.stringify(json);
        }
      } catch {
        // Not JSON: relayed as it came.
      }
      const headers = { ...answer.headers };
      delete headers["content-length"];
      delete headers["transfer-encoding"];
      res.writeHead(answer.statusCode ?? 502, { ...headers, "content-length": Buffer.byteLength(body) }).end(body);
    });
  });
  upstream.on("error", () => {
    if (!res.headersSent) res.writeHead(502).end();
  });
  req.pipe(upstream);
}

/** Signs in at the local IdP's login and consent pages, as a person would (see test/e2e/browser.ts). */
async function signInAtIdp(page: Page): Promise<void> {
  const login = page.locator('input[name="login"]');
  await login.waitFor({ state: "visible", timeout: 20_000 });
  await login.fill("ada");
  await page.locator('input[name="password"]').fill("any password");
  await page.locator('button[type="submit"]').click();
  const consent = page.getByRole("button", { name: "Continue" });
  await Promise.race([
    consent.waitFor({ state: "visible", timeout: 20_000 }).then(() => consent.click()),
    page.waitForURL((url) => !url.pathname.startsWith("/interaction/"), { timeout: 20_000 }),
  ]);
}

async function waitForAuthenticated(page: Page, timeoutMs: number): Promise<void> {
  await page.waitForFunction(() => window.__bench?.status() === "authenticated", undefined, { timeout: timeoutMs, polling: 50 });
}

/** Waits until the IdP's counters have not moved for 600 ms (at most `limitMs`): nothing is still on its way. */
async function quiet(idp: TestIdp, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  let last = JSON.stringify(idp.stats());
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = JSON.stringify(idp.stats());
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= 600) {
      return;
    }
  }
}

async function callTokens(page: Page, count: number): Promise<Array<{ ok: true; token: string } | { ok: false; error: string }>> {
  return withTimeout(
    page.evaluate(async (n) => {
      const api = window.__bench;
      if (!api) throw new Error("the app has not published window.__bench");
      const settled = await Promise.allSettled(Array.from({ length: n }, () => api.getToken()));
      return settled.map((s) => (s.status === "fulfilled" ? { ok: true as const, token: s.value } : { ok: false as const, error: String(s.reason).slice(0, 200) }));
    }, count),
    30_000,
    `${count} token calls`,
  );
}

/** Whether the IdP's userinfo endpoint accepts each token, asked from the page (a service worker may have to add the real token). */
async function acceptedByIdp(page: Page, issuer: string, tokens: string[]): Promise<Map<string, boolean>> {
  const verdicts = await withTimeout(
    page.evaluate(
      async ({ userinfo, tokens }) =>
        Promise.all(tokens.map(async (t) => (await fetch(userinfo, { headers: { Authorization: `Bearer ${t}` } }).catch(() => undefined))?.status === 200)),
      { userinfo: `${issuer}/me`, tokens },
    ),
    15_000,
    "userinfo checks",
  );
  return new Map(tokens.map((t, i) => [t, verdicts[i] === true]));
}

/** A token issued after the jump: not one the tabs held before (a service worker's placeholder counts when a refresh went through). */
const PLACEHOLDER = /SECURED_BY_OIDC_SERVICE_WORKER/;

async function outcome(
  pages: Page[],
  results: Array<Array<{ ok: true; token: string } | { ok: false; error: string }>>,
  before: Set<string>,
  counts: StepCounts,
  issuer: string,
): Promise<CallerOutcome> {
  const accepted = new Map<string, boolean>();
  for (const page of pages) {
    const own = [...new Set((results[pages.indexOf(page)] ?? []).flatMap((r) => (r.ok ? [r.token] : [])))];
    for (const [t, ok] of await acceptedByIdp(page, issuer, own)) accepted.set(t, ok);
  }
  const refreshed = counts.refresh - counts.tokenErrors > 0 || counts.authorizationCode > 0;
  const fresh = (t: string) => (PLACEHOLDER.test(t) ? refreshed : !before.has(t));
  let valid = 0;
  let rejected = 0;
  const errors = new Set<string>();
  for (const r of results.flat()) {
    if (r.ok && accepted.get(r.token) && fresh(r.token)) valid++;
    else if (!r.ok) {
      rejected++;
      errors.add(r.error);
    }
  }
  return { callers: results.flat().length, valid, rejected, counts, errors: [...errors].slice(0, 3) };
}

async function scanStorage(page: Page, issued: Servers["issued"]): Promise<{ storage: Record<StorageArea, TokenKind[]>; readableCookies: string[] }> {
  const dump = await withTimeout(
    page.evaluate(async () => {
      const entries = (s: Storage) => Object.keys(s).map((k) => `${k}=${s.getItem(k) ?? ""}`);
      const idb: string[] = [];
      for (const { name } of await indexedDB.databases()) {
        if (!name) continue;
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const open = indexedDB.open(name);
          open.onsuccess = () => resolve(open.result);
          open.onerror = () => reject(open.error);
        });
        for (const store of Array.from(db.objectStoreNames)) {
          const values = await new Promise<unknown[]>((resolve) => {
            const req = db.transaction(store, "readonly").objectStore(store).getAll();
            req.onsuccess = () => resolve(req.result as unknown[]);
            req.onerror = () => resolve([]);
          });
          for (const value of values) {
            try {
              idb.push(JSON.stringify(value));
            } catch {
              // CryptoKeys and the like hold no token text.
            }
          }
        }
        db.close();
      }
      return { localStorage: entries(localStorage), sessionStorage: entries(sessionStorage), indexedDB: idb, cookies: document.cookie ? document.cookie.split("; ") : [] };
    }),
    15_000,
    "storage scan",
  );
  const kinds = (values: string[]): TokenKind[] => {
    const text = values.join("\n");
    const found: TokenKind[] = [];
    if ([...issued.access].some((t) => text.includes(t))) found.push("access");
    if ([...issued.refresh].some((t) => text.includes(t))) found.push("refresh");
    // An ID token: a JWT whose payload names an audience and a subject.
    const jwts = text.match(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/g) ?? [];
    if (jwts.some((jwt) => /"aud"/.test(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")))) found.push("id");
    return found;
  };
  return {
    storage: { localStorage: kinds(dump.localStorage), sessionStorage: kinds(dump.sessionStorage), indexedDB: kinds(dump.indexedDB), "cookies (JS)": kinds(dump.cookies) },
    readableCookies: dump.cookies.map((c) => c.split("=")[0] ?? ""),
  };
}

async function openSignedIn(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url, { timeout: 20_000 });
  // A tab that cannot use the session it finds goes through the IdP, which may ask again for the
  // password (a new session) or only for consent (after a revoked grant), or for nothing.
  const login = page.locator('input[name="login"]');
  const consent = page.getByRole("button", { name: "Continue" });
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline) {
    const next = await Promise.race([
      waitForAuthenticated(page, 40_000).then(() => "done" as const),
      login.waitFor({ state: "visible", timeout: 40_000 }).then(() => "login" as const),
      consent.waitFor({ state: "visible", timeout: 40_000 }).then(() => "consent" as const),
    ]);
    if (next === "done") return page;
    if (next === "login") await signInAtIdp(page);
    else await consent.click();
  }
  throw new Error(`a new tab of ${url} was not signed in within 40 s`);
}

/** A fresh browser profile with the fake clock installed and the harness's "authenticated" mark. */
async function prepareContext(context: BrowserContext, servers: Servers, sdk: BrowserSdk, authenticatedAt: Map<Page, IdpStats>): Promise<void> {
  await context.clock.install();
  if (process.env.BENCH_DEBUG) {
    context.on("console", (message) => log(`${sdk.id} console.${message.type()}: ${message.text().slice(0, 300)}`));
    context.on("response", (response) => {
      if (response.status() >= 400) void response.text().then((body) => log(`${sdk.id} ${response.status()} ${response.request().method()} ${response.url().slice(0, 120)}: ${body.slice(0, 200)}`), () => undefined);
    });
  }
  await context.exposeBinding("__benchAuthenticated", ({ page }) => {
    if (!authenticatedAt.has(page)) authenticatedAt.set(page, servers.idp.stats());
  });
}

/** Signs in from the app's first page, as a person would. */
async function signIn(context: BrowserContext, servers: Servers, sdk: BrowserSdk): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${servers.origin}/${sdk.id}/`, { timeout: 20_000 });
  await signInAtIdp(page);
  await waitForAuthenticated(page, 30_000);
  return page;
}

/**
 * Fills `row` step by step, so that a step that fails leaves the ones before it measured. The
 * tabs run in a browser profile of their own: what the 20 callers did to the session (a refresh
 * token reused, a grant revoked) must not decide what the tabs can do.
 */
async function runSdk(newContext: () => Promise<BrowserContext>, servers: Servers, sdk: BrowserSdk, row: BrowserRow): Promise<void> {
  const { idp, origin } = servers;
  const home = `${origin}/${sdk.id}/`;
  const authenticatedAt = new Map<Page, IdpStats>();
  const context = await newContext();
  await prepareContext(context, servers, sdk, authenticatedAt);
  // A long-running backend has the IdP's discovery and JWKS cached: a throwaway login warms this one.
  if (sdk.proxy) await signIn(await newContext(), servers, sdk);

  // A login under StrictMode, from the first page to signed in.
  await quiet(idp);
  idp.reset();
  servers.landed.delete(sdk.id);
  const page = await signIn(context, servers, sdk);
  row.callback = diff(authenticatedAt.get(page) ?? idp.stats(), servers.landed.get(sdk.id));
  await quiet(idp);
  row.login = diff(idp.stats(), undefined);

  // 20 concurrent calls on an expired token: the clock moves past the token's lifetime without
  // firing any timer, as after a laptop's sleep.
  const held = new Set((await callTokens(page, 1)).flatMap((r) => (r.ok ? [r.token] : [])));
  idp.reset();
  await setClock(context, page, sdk, Date.now() + FIRST_JUMP_MS);
  const concurrentResults = await callTokens(page, CALLERS);
  await quiet(idp);
  row.concurrent = await outcome([page], [concurrentResults], held, diff(idp.stats(), undefined), idp.issuer);
  Object.assign(row, await scanStorage(page, servers.issued));

  // Three tabs at once, each asking for a token after the same jump.
  const tabsContext = await newContext();
  await prepareContext(tabsContext, servers, sdk, authenticatedAt);
  const pages = [await signIn(tabsContext, servers, sdk)];
  for (let i = 1; i < TABS; i++) pages.push(await openSignedIn(tabsContext, home));
  await quiet(idp);
  const heldByTabs = new Set<string>();
  for (const p of pages) for (const r of await callTokens(p, 1)) if (r.ok) heldByTabs.add(r.token);
  idp.reset();
  await setClock(tabsContext, pages[0] as Page, sdk, Date.now() + FIRST_JUMP_MS);
  const tabResults = await Promise.all(pages.map((p) => callTokens(p, 1)));
  await quiet(idp);
  row.tabs = await outcome(pages, tabResults, heldByTabs, diff(idp.stats(), undefined), idp.issuer);
}


export async function runBrowser(ids: ReadonlySet<string>): Promise<{ chromium: string; rows: BrowserRow[] }> {
  const sdks = BROWSER_SDKS.filter((sdk) => ids.has(sdk.id));
  const bundles = await buildApps(new Set(sdks.map((sdk) => sdk.app)));
  const servers = await startServers(sdks, bundles);
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      timeout: 30_000,
    });
    const rows: BrowserRow[] = [];
    for (const sdk of sdks) {
      const started = Date.now();
      const row: BrowserRow = { sdk: sdk.id, label: sdk.label, tokenCall: sdk.tokenCall, login: zero(), callback: zero(), concurrent: emptyOutcome(), tabs: emptyOutcome(), storage: emptyStorage(), readableCookies: [] };
      rows.push(row);
      // Closing the contexts on a timeout ends whatever the step was waiting for.
      const contexts: BrowserContext[] = [];
      const open = browser;
      const newContext = async () => {
        const context = await open.newContext();
        contexts.push(context);
        return context;
      };
      try {
        await withTimeout(runSdk(newContext, servers, sdk, row), 120_000, `${sdk.label} in Chromium`);
      } catch (error) {
        row.error = error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
      } finally {
        for (const context of contexts) await context.close();
      }
      log(`browser: ${sdk.label} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    return { chromium: browser.version(), rows };
  } finally {
    await browser?.close();
    await servers.close();
  }
}

const emptyOutcome = (): CallerOutcome => ({ callers: 0, valid: 0, rejected: 0, counts: zero(), errors: [] });
const emptyStorage = (): Record<StorageArea, TokenKind[]> => ({ localStorage: [], sessionStorage: [], indexedDB: [], "cookies (JS)": [] });
