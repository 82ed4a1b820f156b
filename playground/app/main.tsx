import { StrictMode, type ReactNode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, useNavigate } from "react-router";
// The package name resolves to the sources (the launcher and tsconfig alias it).
import { AuthError, AuthErrorCode, OAuthProvider, createAuthClient, type AuthClient, type AuthConfig } from "react-sso-kit";
import { App } from "./App.js";
import { ErrorAlert, Logo } from "./components.js";
import { createEventLog, type EventLog } from "./eventLog.js";
import { createRequestLog, type RequestLog } from "./requestLog.js";
import { createTokenTracker, type TokenTracker } from "./tokenEvents.js";
import "./styles.css";

declare global {
  interface Window {
    /** The app's client, for the e2e tests; set in development only. */
    __reactSso?: AuthClient;
  }
}

const requests = createRequestLog();
// Written out in full on purpose: the launcher replaces these exact expressions with Vite's `define`.
const resource = import.meta.env.VITE_SSO_RESOURCE ?? "";
const config: AuthConfig = {
  authority: import.meta.env.VITE_SSO_AUTHORITY ?? "",
  clientId: import.meta.env.VITE_SSO_CLIENT_ID ?? "",
  scope: import.meta.env.VITE_SSO_SCOPE || "openid profile email offline_access",
  redirectUri: `${location.origin}/callback`,
  // Same origin through Vite's proxy, so the proxy's refresh-token cookie stays first-party.
  tokenProxy: "/auth/token",
  postLogoutRedirectUri: `${location.origin}/`,
  // RFC 8707: the access token is for this API, so the local IdP makes it a JWT with that audience.
  ...(resource ? { extraAuthorizeParams: { resource } } : {}),
  // Records each request's method, path and status for the cards (never a header or a body).
  fetch: requests.fetch,
};

interface Logs {
  tokens: TokenTracker;
  events: EventLog;
  requests: RequestLog;
}

type Created = ({ client: AuthClient } & Logs) | { error: AuthError };

/** Created once, outside React, so that the logs listen to `client.on` from the start. */
function create(): Created {
  try {
    const client = createAuthClient(config);
    return { client, tokens: createTokenTracker(client), events: createEventLog(client), requests };
  } catch (err) {
    // A bad configuration (e.g. `vite playground/app` without the launcher's variables) deserves a page, not a blank screen.
    return { error: err instanceof AuthError ? err : new AuthError(AuthErrorCode.Config, String(err), { cause: err }) };
  }
}

const created = create();
if (import.meta.env.DEV && "client" in created) window.__reactSso = created.client;

/** Inside the router, so that <Callback> can navigate with React Router instead of the history fallback. */
function RoutedApp({ client, tokens, events, requests }: { client: AuthClient } & Logs): ReactNode {
  const navigate = useNavigate();
  return (
    <OAuthProvider client={client} navigate={(to) => void navigate(to, { replace: true })}>
      <App config={config} tokens={tokens} events={events} requests={requests} />
    </OAuthProvider>
  );
}

function ConfigError({ error }: { error: AuthError }): ReactNode {
  return (
    <div className="page">
      <header className="topbar">
        <div className="topbar-inner">
          <span className="brand">
            <Logo />
            <span>react-sso</span>
            <span className="brand-tag">playground</span>
          </span>
        </div>
      </header>
      <main className="container">
        <ErrorAlert error={error} />
        <p className="muted">
          Start the playground with <code>npm run playground</code>: it runs the identity provider and the backend, and passes their
          addresses to this app.
        </p>
      </main>
    </div>
  );
}

createRoot(document.getElementById("root") as HTMLElement).render(
  <StrictMode>
    {"client" in created ? (
      // Navigations commit when asked, not as transitions: "Sign out here only" leaves the guarded page before it signs out.
      <BrowserRouter useTransitions={false}>
        <RoutedApp client={created.client} tokens={created.tokens} events={created.events} requests={created.requests} />
      </BrowserRouter>
    ) : (
      <ConfigError error={created.error} />
    )}
  </StrictMode>,
);
