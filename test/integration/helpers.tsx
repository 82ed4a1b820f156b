import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { StrictMode, useEffect, useState, type ReactNode } from "react";
import { expect, inject } from "vitest";
import { Callback, OAuthProvider, RequireAuth, createAuthClient, useAuth, type AuthClient, type AuthConfig } from "react-sso-kit";
import { PUBLIC_CLIENT_ID, REDIRECT_URI, loginAtIdp, resetIdp } from "../support/idpControl.js";

export const issuer = (): string => inject("idpIssuer");
export const proxyUrl = (): string => inject("proxyUrl");

/**
 * What a browser adds to the SDK's requests and Node's fetch does not: the Origin header, and a
 * cookie jar for `credentials: "include"` (the token proxy's refresh-token cookie).
 */
export const cookieJar = new Map<string, string>();
export const browserFetch: typeof fetch = async (input, init = {}) => {
  const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
  headers.set("Origin", window.location.origin);
  const withCookies = init.credentials === "include";
  if (withCookies && cookieJar.size > 0) headers.set("Cookie", [...cookieJar].map(([k, v]) => `${k}=${v}`).join("; "));
  const response = await fetch(input, { ...init, headers });
  if (withCookies) {
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = cookie.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      if (attributes.some((a) => a.trim().toLowerCase() === "max-age=0")) cookieJar.delete(name);
      else cookieJar.set(name, pair.slice(eq + 1).trim());
    }
  }
  return response;
};

/**
 * The clients of the pages loaded so far. A real page load tears down the previous page's clients;
 * here they live on in the same process, so they are disposed at every simulated load, or they
 * would answer each other's broadcasts like tabs that never closed.
 */
const pages: AuthClient[] = [];

/** A page load: fresh storage-backed state is kept, the in-memory world is not. */
export async function freshPage(path = "/"): Promise<void> {
  cleanup();
  for (const client of pages.splice(0)) client.dispose();
  window.history.replaceState(null, "", path);
}

/** Between tests: no page, client, cookie or storage of one test lives on into the next. */
export async function resetWorld(): Promise<void> {
  await freshPage("/");
  cookieJar.clear();
  sessionStorage.clear();
  localStorage.clear();
  await resetIdp(issuer());
}

/** A client whose redirects are captured instead of followed (jsdom cannot leave the page). */
export function makeClient(overrides: Partial<AuthConfig> = {}): { client: AuthClient; opened: string[] } {
  const opened: string[] = [];
  const client = createAuthClient({
    authority: issuer(),
    clientId: PUBLIC_CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: "openid profile email",
    openUrl: (url) => void opened.push(url),
    fetch: browserFetch,
    ...overrides,
  });
  pages.push(client);
  return { client, opened };
}

function usePathname(): string {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const update = () => setPath(window.location.pathname);
    window.addEventListener("popstate", update);
    return () => window.removeEventListener("popstate", update);
  }, []);
  return path;
}

export function Account(): ReactNode {
  const { user, status } = useAuth();
  return (
    <main>
      <p data-testid="status">{status}</p>
      <p data-testid="name">{String(user?.claims.name ?? "")}</p>
      <p data-testid="sub">{user?.sub ?? ""}</p>
    </main>
  );
}

/** The app under test: a callback route and a guarded page, routed on the URL like a router would. */
export function App(): ReactNode {
  const path = usePathname();
  if (path === "/callback") return <Callback />;
  return (
    <RequireAuth fallback={<p>guard waiting</p>}>
      <Account />
    </RequireAuth>
  );
}

export function renderApp(client: AuthClient, ui: ReactNode = <App />) {
  return render(
    <StrictMode>
      <OAuthProvider client={client}>{ui}</OAuthProvider>
    </StrictMode>,
  );
}

/** Starts a login the way a user does (visiting a guarded page) and returns the authorization URL. */
export async function startLoginAt(path: string, overrides: Partial<AuthConfig> = {}): Promise<string> {
  await freshPage(path);
  const { client, opened } = makeClient(overrides);
  renderApp(client);
  await waitFor(() => expect(opened).toHaveLength(1));
  return opened[0] as string;
}

/** Signs in at the IdP over HTTP and lands on the callback page in a fresh page load. */
export async function completeAtIdp(authorizationUrl: string, overrides: Partial<AuthConfig> = {}, username = "ada") {
  const callbackUrl = await loginAtIdp(authorizationUrl, { username });
  await freshPage(callbackUrl);
  const page = makeClient(overrides);
  renderApp(page.client);
  return { callbackUrl, ...page };
}

export async function signedInName(): Promise<string> {
  await screen.findByText("authenticated");
  return screen.getByTestId("name").textContent ?? "";
}

export { act, screen, waitFor };
