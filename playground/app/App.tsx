import { version as reactVersion, type ReactNode } from "react";
import { Link, NavLink, Outlet, Route, Routes } from "react-router";
import { Callback, RequireAuth, useAuth, type AuthConfig } from "react-sso-kit";
import {
  AccessTokenCard,
  ApiCard,
  AuthErrorAlert,
  ClaimsTable,
  ConfigCard,
  EventLogCard,
  Logo,
  RefreshNowButton,
  SignInButton,
  SignOutButton,
  SignOutHereButton,
  Spinner,
  StatusPill,
  UserSummary,
  errorTitle,
} from "./components.js";
import { RetryCard, ServiceCallCard } from "./toolkitCards.js";
import type { EventLog } from "./eventLog.js";
import type { RequestLog } from "./requestLog.js";
import type { TokenTracker } from "./tokenEvents.js";

export interface AppProps {
  config: AuthConfig;
  tokens: TokenTracker;
  events: EventLog;
  requests: RequestLog;
}

export function App({ config, tokens, events, requests }: AppProps): ReactNode {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<Home config={config} tokens={tokens} events={events} requests={requests} />} />
        <Route
          path="account"
          element={
            // The global alert already shows the error: the guard only offers the way out.
            <RequireAuth fallback={<Pending label="Redirecting to the identity provider…" />} errorElement={() => <SignInFailed />}>
              <Account tokens={tokens} events={events} />
            </RequireAuth>
          }
        />
        <Route path="callback" element={<Callback loading={<Pending label="Completing the sign-in…" />} errorElement={() => <SignInFailed returnTo="/" />} />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

function Layout(): ReactNode {
  return (
    <div className="page">
      <header className="topbar">
        <div className="topbar-inner">
          <Link to="/" className="brand">
            <Logo />
            <span>react-sso</span>
            <span className="brand-tag">playground</span>
          </Link>
          <nav className="nav" aria-label="Main">
            <NavLink to="/" end>
              Home
            </NavLink>
            <NavLink to="/account">Account</NavLink>
          </nav>
          <StatusPill />
        </div>
      </header>
      <main className="container">
        <AuthErrorAlert />
        <Outlet />
      </main>
      <footer className="container footer">
        Authorization code + PKCE (S256) · code exchanged through <code>/auth/token</code> · React {reactVersion}
      </footer>
    </div>
  );
}

/* ------------------------------------------------------------------ pages */

function Home({ config, tokens, events, requests }: AppProps): ReactNode {
  const { user } = useAuth();
  return (
    <>
      <SessionCard />
      <div className="grid">
        <AccessTokenCard tracker={tokens} />
        <ApiCard />
      </div>
      <div className="grid">
        <RetryCard requests={requests} />
        <ServiceCallCard />
      </div>
      <EventLogCard log={events} />
      {user && (
        <section className="card">
          <header className="card-head">
            <h2>ID token claims</h2>
            <span className="tag">useAuth().user.claims</span>
          </header>
          <ClaimsTable claims={user.claims} />
        </section>
      )}
      <ConfigCard config={config} />
    </>
  );
}

/** Says what the header's status pill says, in words: `data-status` is the same status. */
function SessionCard(): ReactNode {
  const { status, user, error } = useAuth();
  if (status === "loading") {
    return (
      <section className="card hero" data-testid="session-card" data-status={status}>
        <Spinner label="Checking the session…" />
      </section>
    );
  }
  if (status === "error") {
    return (
      <section className="card hero hero-error" data-testid="session-card" data-status={status}>
        <div>
          <h1>{error ? errorTitle(error) : "Sign-in failed"}</h1>
          <p className="muted">Nobody is signed in. What went wrong is shown above; signing in again starts afresh.</p>
        </div>
        <div className="hero-actions">
          <SignInButton label="Try again" />
        </div>
      </section>
    );
  }
  if (status === "authenticated" && user) {
    return (
      <section className="card hero" data-testid="session-card" data-status={status}>
        <UserSummary />
        <div className="hero-actions">
          <Link to="/account" className="btn">
            Account
          </Link>
          <SignOutButton />
        </div>
      </section>
    );
  }
  return (
    <section className="card hero hero-signed-out" data-testid="session-card" data-status={status}>
      <div>
        <h1>You are signed out</h1>
        <p className="muted">
          Sign in at the local identity provider. The authorization code comes back to <code>/callback</code> and is exchanged
          through the backend's token proxy, so the client secret never reaches the browser.
        </p>
      </div>
      <div className="hero-actions">
        <SignInButton />
      </div>
    </section>
  );
}

function Account({ tokens, events }: Pick<AppProps, "tokens" | "events">): ReactNode {
  const { user } = useAuth();
  const verified = user?.claims.email_verified;
  return (
    <>
      <section className="card">
        <header className="card-head">
          <h1>Account</h1>
          <span className="tag tag-ok">protected</span>
        </header>
        <UserSummary />
        <dl className="facts facts-wide">
          <div className="fact">
            <dt>Email verified</dt>
            <dd>{typeof verified === "boolean" ? (verified ? "yes" : "no") : <span className="muted">not stated</span>}</dd>
          </div>
          <div className="fact">
            <dt>Subject</dt>
            <dd>
              <code>{user?.sub ?? "—"}</code>
            </dd>
          </div>
          <div className="fact">
            {/* The token response's scope: the access token's (RFC 6749 §5.1), for the API the login named. */}
            <dt>Access token scopes</dt>
            <dd className="chips">
              {(user?.scopes ?? []).map((scope) => (
                <span key={scope} className="chip">
                  {scope}
                </span>
              ))}
            </dd>
          </div>
        </dl>
        <div className="hero-actions account-actions">
          <RefreshNowButton />
          <SignOutHereButton />
          <SignOutButton />
        </div>
        <ul className="action-notes muted small">
          <li>
            <strong>Refresh now</strong>: <code>getAccessToken({"{ forceRefresh: true }"})</code>, one refresh through the token proxy.
          </li>
          <li>
            <strong>Sign out here only</strong>: <code>logout({"{ local: true }"})</code> ends the session in this app (every tab) without visiting
            the identity provider, which still knows you: the next sign-in asks for no password.
          </li>
          <li>
            <strong>Sign out</strong>: <code>logout()</code> revokes the refresh token through the proxy, then ends the session at the identity
            provider.
          </li>
        </ul>
        <p className="note">
          This page is protected by <code>&lt;RequireAuth&gt;</code>. Opened while signed out, it sends you to the identity provider and
          brings you back here once you are signed in.
        </p>
      </section>
      <div className="grid">
        <AccessTokenCard tracker={tokens} />
        <EventLogCard log={events} />
      </div>
    </>
  );
}

function Pending({ label }: { label: string }): ReactNode {
  return (
    <section className="card">
      <Spinner label={label} />
    </section>
  );
}

/** @param returnTo "/" on the callback page, whose own address must never be a login's destination */
function SignInFailed({ returnTo }: { returnTo?: string | undefined }): ReactNode {
  return (
    <section className="card">
      <h1>The sign-in did not complete</h1>
      <p className="muted">What went wrong is shown above. Try again, or go back to the home page.</p>
      <div className="hero-actions">
        <SignInButton returnTo={returnTo} />
        <Link to="/" className="btn">
          Back home
        </Link>
      </div>
    </section>
  );
}

function NotFound(): ReactNode {
  return (
    <section className="card">
      <h1>Page not found</h1>
      <p className="muted">Nothing lives at this address.</p>
      <Link to="/" className="btn">
        Back home
      </Link>
    </section>
  );
}
