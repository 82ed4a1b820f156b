// What the engine's unit suites share: one authority with explicit endpoints, its storage keys,
// and clients that are disposed after each test (with the page's storage and URL reset before it).
import { afterEach, beforeEach, vi } from "vitest";
import type { AuthClient } from "../../src/core/AuthClient.js";
import type { AuthConfig } from "../../src/core/config.js";
import { createAuthClient } from "../../src/core/createAuthClient.js";

export const AUTHORITY = "https://sso.example.com";
export const TOKEN_URL = `${AUTHORITY}/token`;
export const PROXY_URL = "http://localhost:3000/auth/token";
export const ID = `${AUTHORITY}:spa`;
export const SESSION_KEY = `react-sso.session:${ID}`;
export const STAMP_KEY = `react-sso.stamp:${ID}`;
export const GEN_KEY = `react-sso.gen:${ID}`;
export const HINT_KEY = `react-sso.proxy-session:${ID}`;

export const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/**
 * Registers the hooks and returns `client(fetch, overrides)`: a client of {@link AUTHORITY} that
 * the test owns (disposed after it), already started.
 */
export function useEngineClients(): (fetch: typeof globalThis.fetch, overrides?: Partial<AuthConfig>) => AuthClient {
  const clients: AuthClient[] = [];
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
    window.history.replaceState(null, "", "/");
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.dispose();
    vi.useRealTimers();
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });
  return (fetch, overrides = {}) => {
    const c = createAuthClient({
      authority: AUTHORITY,
      clientId: "spa",
      redirectUri: "http://localhost:3000/callback",
      scope: "api",
      endpoints: { authorization: `${AUTHORITY}/auth`, token: TOKEN_URL, revocation: `${AUTHORITY}/revoke` },
      fetch,
      openUrl: () => undefined,
      ...overrides,
    });
    clients.push(c);
    c.getSnapshot();
    return c;
  };
}
