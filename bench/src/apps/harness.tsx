// What every benchmark app shares: its configuration (written into the page by the harness), the
// status line and `window.__bench`, through which the harness asks for tokens the way app code
// would, and the StrictMode root.
import { StrictMode, useEffect, useRef, useState, type ReactNode } from "react";
import { createRoot } from "react-dom/client";

export interface AppConfig {
  sdk: string;
  issuer: string;
  clientId: string;
  /** The app's path prefix, e.g. `/react-sso`; its pages are `${base}/` and `${base}/callback`. */
  base: string;
  origin: string;
  /** For @auth0/auth0-react: the Auth0-shaped front of the local IdP. */
  auth0Domain?: string;
  /** For react-sso in cookie mode: the token proxy's path. */
  tokenProxy?: string;
  /** For @axa-fr/react-oidc: register its service worker. */
  serviceWorker?: boolean;
}

export type Status = "loading" | "authenticated" | "unauthenticated" | "error";

export interface BenchApi {
  status(): Status;
  /** The SDK's way of getting a usable access token right now (its getAccessToken or equivalent). */
  getToken(): Promise<string>;
}

declare global {
  interface Window {
    __BENCH__: AppConfig;
    __bench?: BenchApi;
    /** Exposed by the harness (Playwright): marks the moment the app first shows "authenticated". */
    __benchAuthenticated?: () => Promise<void>;
  }
}

export const config: AppConfig = window.__BENCH__;
export const redirectUri = `${config.origin}${config.base}/callback`;
export const homePath = `${config.base}/`;
export const SCOPE = "openid profile";

/** Publishes the SDK's state to the harness: a status line, `window.__bench`, and the first "authenticated". */
export function Report({ status, getToken, error }: { status: Status; getToken: () => Promise<string>; error?: unknown }): ReactNode {
  const latest = useRef({ status, getToken });
  latest.current = { status, getToken };
  useEffect(() => {
    window.__bench = { status: () => latest.current.status, getToken: () => latest.current.getToken() };
  }, []);
  const marked = useRef(false);
  useEffect(() => {
    if (status === "authenticated" && !marked.current) {
      marked.current = true;
      void window.__benchAuthenticated?.();
    }
  }, [status]);
  return (
    <p data-testid="status" data-error={error ? String(error) : undefined}>
      {status}
    </p>
  );
}

/** The current path, following history.replaceState + popstate as routers do. */
export function usePath(): string {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const update = () => setPath(window.location.pathname);
    window.addEventListener("popstate", update);
    return () => window.removeEventListener("popstate", update);
  }, []);
  return path;
}

export function Home(): ReactNode {
  return <p data-testid="home">signed in</p>;
}

export function mount(app: ReactNode): void {
  const element = document.getElementById("root");
  if (!element) throw new Error("bench app: no #root element");
  createRoot(element).render(<StrictMode>{app}</StrictMode>);
}
