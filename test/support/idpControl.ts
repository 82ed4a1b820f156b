// Helpers for jsdom tests. They talk to the test IdP over HTTP only: importing
// oidc-provider here would run it under jsdom's globals, where jose breaks.
//
// Request bodies are passed as strings on purpose: under jsdom, URLSearchParams
// and friends may be jsdom's classes, which Node's fetch does not recognise.
import { TEST_ROUTES, emptyStats } from "../../playground/idpShared.js";
import type { IdpFault, IdpStats } from "../../playground/idpShared.js";

export * from "../../playground/idpShared.js";

export const DEFAULT_USERNAME = "alice";

export interface LoginOptions {
  /** Account id to sign in as (devInteractions accept anything); default "alice". */
  username?: string;
  /** Cancel at the first IdP page instead of signing in: the client gets error=access_denied. */
  deny?: boolean;
}

// ---------------------------------------------------------------------------
// Control routes

export async function getStats(issuer: string): Promise<IdpStats> {
  const response = await fetch(new URL(TEST_ROUTES.stats, issuer).href);
  await expectOk(response, "GET", TEST_ROUTES.stats);
  return parseStats(await response.json());
}

export async function resetIdp(issuer: string): Promise<void> {
  const response = await fetch(new URL(TEST_ROUTES.reset, issuer).href, { method: "POST" });
  await expectOk(response, "POST", TEST_ROUTES.reset);
}

export async function setFault(issuer: string, fault: IdpFault): Promise<void> {
  const response = await fetch(new URL(TEST_ROUTES.fault, issuer).href, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(fault),
  });
  await expectOk(response, "POST", TEST_ROUTES.fault);
}

async function expectOk(response: Response, method: string, path: string): Promise<void> {
  if (response.ok) return;
  const detail = (await response.text()).slice(0, 300);
  throw new Error(`test IdP ${method} ${path} answered ${response.status}: ${detail}`);
}

const TOKEN_COUNTERS = ["authorization_code", "refresh_token", "client_credentials", "other", "total"] as const;
const ENDPOINT_COUNTERS = ["tokenErrors", "discovery", "authorization", "revocation", "endSession", "jwks"] as const;

function parseStats(value: unknown): IdpStats {
  if (!isRecord(value) || !isRecord(value.token)) throw new Error("test IdP stats: unexpected shape");
  const stats = emptyStats();
  for (const key of TOKEN_COUNTERS) stats.token[key] = readCount(value.token, key);
  for (const key of ENDPOINT_COUNTERS) stats[key] = readCount(value, key);
  return stats;
}

function readCount(source: Record<string, unknown>, key: string): number {
  const count = source[key];
  if (typeof count !== "number") throw new Error(`test IdP stats: ${key} is not a number`);
  return count;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------
// Driving the local IdP's login/consent pages (playground/idpPages.ts)

const MAX_STEPS = 20;
const DEFAULT_PASSWORD = "any-password";

interface PendingRequest {
  url: URL;
  method: "GET" | "POST";
  body?: string;
}

/**
 * Plays the user at the local IdP's login and consent pages for `authorizationUrl` and
 * resolves with the redirect back to the client (its redirect_uri with
 * code/state/iss, or error=...), without requesting it.
 */
export async function loginAtIdp(authorizationUrl: string, options: LoginOptions = {}): Promise<string> {
  const start = new URL(authorizationUrl);
  const redirectUri = start.searchParams.get("redirect_uri");
  const jar = new CookieJar();
  let pending: PendingRequest = { url: start, method: "GET" };

  for (let step = 0; step < MAX_STEPS; step += 1) {
    const response = await send(pending, jar);

    if (isRedirect(response.status)) {
      await response.body?.cancel();
      const target = redirectTarget(response, pending);
      if (isClientRedirect(target, redirectUri)) return target.href;
      if (target.origin !== start.origin) {
        throw new Error(`loginAtIdp: redirected off the IdP to unexpected ${target.href} (from ${describe(pending)})`);
      }
      pending = { url: target, method: "GET" };
      continue;
    }

    if (response.status === 200 && isHtml(response)) {
      pending = nextInteractionStep(await response.text(), pending.url, options);
      continue;
    }

    throw await unexpectedResponse(response, pending);
  }
  throw new Error(`loginAtIdp: gave up after ${MAX_STEPS} steps without reaching the redirect_uri`);
}

async function send(pending: PendingRequest, jar: CookieJar): Promise<Response> {
  const headers: Record<string, string> = { accept: "text/html" };
  const cookie = jar.header(pending.url);
  if (cookie) headers.cookie = cookie;
  if (pending.body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";

  const response = await fetch(pending.url.href, {
    method: pending.method,
    headers,
    body: pending.body ?? null,
    redirect: "manual",
  });
  jar.store(response.headers.getSetCookie(), pending.url);
  return response;
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400 && status !== 304;
}

function redirectTarget(response: Response, pending: PendingRequest): URL {
  const location = response.headers.get("location");
  if (!location) throw new Error(`loginAtIdp: ${response.status} without Location from ${describe(pending)}`);
  return new URL(location, pending.url);
}

function isClientRedirect(target: URL, redirectUri: string | null): boolean {
  if (redirectUri === null) return false;
  const expected = new URL(redirectUri);
  return target.origin === expected.origin && target.pathname === expected.pathname;
}

function isHtml(response: Response): boolean {
  return response.headers.get("content-type")?.includes("text/html") ?? false;
}

function describe(pending: PendingRequest): string {
  return `${pending.method} ${pending.url.href}`;
}

async function unexpectedResponse(response: Response, pending: PendingRequest): Promise<Error> {
  const text = htmlToText(await response.text()).slice(0, 400);
  return new Error(
    `loginAtIdp: unexpected ${response.status} (${response.headers.get("content-type") ?? "no content-type"}) ` +
      `from ${describe(pending)}${text ? `: ${text}` : ""}`,
  );
}

/** Decides what the "user" does on an IdP page: fill the login form, consent, or cancel. */
function nextInteractionStep(html: string, pageUrl: URL, options: LoginOptions): PendingRequest {
  if (options.deny) {
    const abort = findAbortLink(html);
    if (!abort) throw new Error(`loginAtIdp: no cancel link on ${pageUrl.href}`);
    return { url: new URL(abort, pageUrl), method: "GET" };
  }

  const forms = parseForms(html);
  const form = forms.find((candidate) => ["login", "consent"].includes(candidate.fields.get("prompt") ?? ""));
  if (!form) {
    const actions = forms.map((candidate) => candidate.action).join(", ") || "none";
    throw new Error(`loginAtIdp: no login or consent form on ${pageUrl.href} (forms: ${actions})`);
  }
  if (form.fields.get("prompt") === "login") {
    form.fields.set("login", options.username ?? (form.fields.get("login") || DEFAULT_USERNAME));
    form.fields.set("password", DEFAULT_PASSWORD);
  }
  return {
    url: new URL(form.action, pageUrl),
    method: form.method === "get" ? "GET" : "POST",
    body: encodeForm(form.fields),
  };
}

function encodeForm(fields: Map<string, string>): string {
  return [...fields]
    .map(([name, value]) => `${formUrlEncode(name)}=${formUrlEncode(value)}`)
    .join("&");
}

function formUrlEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, "+");
}

// ---------------------------------------------------------------------------
// Minimal HTML form parsing: enough for the local IdP's own templates, which
// are generated and attribute-quoted, not for arbitrary HTML.

interface ParsedForm {
  action: string;
  method: string;
  fields: Map<string, string>;
}

function parseForms(html: string): ParsedForm[] {
  const forms: ParsedForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = parseAttributes(match[1] ?? "");
    const fields = new Map<string, string>();
    for (const input of (match[2] ?? "").matchAll(/<input\b([^>]*)>/gi)) {
      const inputAttributes = parseAttributes(input[1] ?? "");
      const name = inputAttributes.get("name");
      if (name) fields.set(name, inputAttributes.get("value") ?? "");
    }
    forms.push({
      action: attributes.get("action") ?? "",
      method: (attributes.get("method") ?? "get").toLowerCase(),
      fields,
    });
  }
  return forms;
}

function findAbortLink(html: string): string | undefined {
  for (const match of html.matchAll(/<a\b([^>]*)>/gi)) {
    const href = parseAttributes(match[1] ?? "").get("href");
    if (href && /\/abort(?:[?#]|$)/.test(href)) return href;
  }
  return undefined;
}

function parseAttributes(source: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const match of source.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    const name = match[1];
    if (!name) continue;
    attributes.set(name.toLowerCase(), decodeEntities(match[2] ?? match[3] ?? match[4] ?? ""));
  }
  return attributes;
}

const NAMED_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (entity, body: string) => {
    if (body.startsWith("#x") || body.startsWith("#X")) return String.fromCodePoint(parseInt(body.slice(2), 16));
    if (body.startsWith("#")) return String.fromCodePoint(parseInt(body.slice(1), 10));
    return NAMED_ENTITIES[body.toLowerCase()] ?? entity;
  });
}

function htmlToText(html: string): string {
  return decodeEntities(
    html
      .replace(/<(style|script)\b[\s\S]*?<\/\1>/gi, " ")
      .replace(/<[^>]+>/g, " "),
  )
    .replace(/\s+/g, " ")
    .trim();
}

// ---------------------------------------------------------------------------
// Cookie jar: Node's fetch keeps no cookies, and oidc-provider ties the
// interaction to path-scoped cookies (/interaction/<uid>, /auth/<uid>).

interface StoredCookie {
  origin: string;
  name: string;
  value: string;
  path: string;
}

class CookieJar {
  readonly #cookies = new Map<string, StoredCookie>();

  store(setCookieHeaders: string[], requestUrl: URL): void {
    for (const header of setCookieHeaders) {
      const parsed = parseSetCookie(header, requestUrl);
      if (!parsed) continue;
      const key = `${parsed.cookie.origin} ${parsed.cookie.path} ${parsed.cookie.name}`;
      if (parsed.expired) this.#cookies.delete(key);
      else this.#cookies.set(key, parsed.cookie);
    }
  }

  header(url: URL): string | undefined {
    const matching = [...this.#cookies.values()]
      .filter((cookie) => cookie.origin === url.origin && pathMatches(url.pathname, cookie.path))
      // RFC 6265 §5.4: more specific paths first.
      .sort((a, b) => b.path.length - a.path.length);
    if (matching.length === 0) return undefined;
    return matching.map((cookie) => `${cookie.name}=${cookie.value}`).join("; ");
  }
}

function parseSetCookie(header: string, requestUrl: URL): { cookie: StoredCookie; expired: boolean } | undefined {
  const [pair = "", ...attributes] = header.split(";");
  const separator = pair.indexOf("=");
  if (separator <= 0) return undefined;
  const cookie: StoredCookie = {
    origin: requestUrl.origin,
    name: pair.slice(0, separator).trim(),
    value: pair.slice(separator + 1).trim(),
    path: defaultCookiePath(requestUrl.pathname),
  };
  let expired = false;
  for (const attribute of attributes) {
    const [rawName = "", ...rest] = attribute.split("=");
    const name = rawName.trim().toLowerCase();
    const value = rest.join("=").trim();
    if (name === "path" && value.startsWith("/")) cookie.path = value;
    if (name === "max-age" && Number(value) <= 0) expired = true;
    if (name === "expires" && Date.parse(value) <= Date.now()) expired = true;
  }
  return { cookie, expired };
}

function defaultCookiePath(requestPath: string): string {
  const lastSlash = requestPath.lastIndexOf("/");
  return lastSlash <= 0 ? "/" : requestPath.slice(0, lastSlash);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || requestPath.charAt(cookiePath.length) === "/";
}
