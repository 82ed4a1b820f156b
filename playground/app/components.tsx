import { useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from "react";
import { flushSync } from "react-dom";
import { useNavigate } from "react-router";
import { AuthError, AuthErrorCode, useAuth, type AuthConfig, type AuthStatus, type Claims } from "react-sso-kit";
import type { EventLog, EventName } from "./eventLog.js";
import type { RefreshEntry, TokenTracker } from "./tokenEvents.js";

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
export const formatTime = (epochMs: number): string => clock.format(epochMs);

/* ------------------------------------------------------------------ status and errors */

export function Logo(): ReactNode {
  return (
    <svg className="logo" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
      <path d="M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5l-8-3Z" fill="currentColor" opacity=".25" />
      <path d="M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5l-8-3Z" fill="none" stroke="currentColor" strokeWidth="1.6" />
      <circle cx="12" cy="10.5" r="2.2" fill="currentColor" />
      <path d="M12 12.5v3.5" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
    </svg>
  );
}

const STATUS_LABELS: Record<AuthStatus, string> = {
  loading: "Checking the session",
  authenticated: "Signed in",
  unauthenticated: "Signed out",
  error: "Sign-in failed",
};

/** The header's pill. Its text is the raw status, which the e2e tests read. */
export function StatusPill(): ReactNode {
  const { status } = useAuth();
  return (
    <span className={`pill pill-${status}`} title={STATUS_LABELS[status]}>
      <span className="pill-dot" aria-hidden="true" />
      <span data-testid="status">{status}</span>
    </span>
  );
}

const TITLES: Partial<Record<string, string>> = {
  [AuthErrorCode.AccessDenied]: "Sign-in cancelled",
  [AuthErrorCode.Config]: "Configuration error",
  [AuthErrorCode.SessionExpired]: "Session expired",
};

// Only where the message alone does not say what to do next.
const HINTS: Partial<Record<string, ReactNode>> = {
  [AuthErrorCode.Network]: (
    <>
      Is the identity provider running? <code>npm run playground</code> starts it with the backend and this app.
    </>
  ),
  [AuthErrorCode.Config]: "Check the VITE_SSO_* variables that the launcher passes to Vite.",
  [AuthErrorCode.ProxyRejected]: "The token proxy refused the request: check its allowedOrigins and redirectUris.",
};

/** A heading for what went wrong, e.g. "Sign-in cancelled" for access_denied. */
export function errorTitle(error: AuthError): string {
  return TITLES[error.code] ?? "Authentication error";
}

/** Shows an {@link AuthError} as text: its code, its message, and what to try next. */
export function ErrorAlert({ error }: { error: AuthError }): ReactNode {
  const hint = HINTS[error.code];
  return (
    <div className="alert" role="alert" data-testid="auth-error">
      <div className="alert-title">
        {errorTitle(error)}
        <code className="alert-code">{error.code}</code>
      </div>
      {/* error.message may carry the IdP's error_description: rendered as text, never as HTML. */}
      <p className="alert-message">{error.message}</p>
      {hint && <p className="alert-hint">{hint}</p>}
    </div>
  );
}

/** The client's last error, on every page, so that a failed sign-in is never silent. */
export function AuthErrorAlert(): ReactNode {
  const { error } = useAuth();
  return error ? <ErrorAlert error={error} /> : null;
}

export function Spinner({ label }: { label: string }): ReactNode {
  return (
    <p className="spinner-line" role="status">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

/* ------------------------------------------------------------------ session */

/**
 * @param returnTo where to land after signing in @default the current page
 * @param label @default "Sign in"
 */
export function SignInButton({ returnTo, label = "Sign in" }: { returnTo?: string | undefined; label?: string | undefined }): ReactNode {
  const { status, login } = useAuth();
  const [busy, setBusy] = useState(false);
  const onClick = () => {
    setBusy(true);
    // A failure lands in useAuth().error, which <AuthErrorAlert> shows; nothing to do here.
    login(returnTo === undefined ? undefined : { returnTo })
      .catch(() => undefined)
      .finally(() => setBusy(false));
  };
  return (
    <button type="button" className="btn btn-primary" data-testid="sign-in" onClick={onClick} disabled={busy || status === "loading"}>
      {busy ? "Redirecting…" : label}
    </button>
  );
}

export function SignOutButton(): ReactNode {
  const { logout } = useAuth();
  const [busy, setBusy] = useState(false);
  const onClick = () => {
    setBusy(true);
    logout()
      .catch(() => undefined)
      .finally(() => setBusy(false));
  };
  return (
    <button type="button" className="btn" data-testid="sign-out" onClick={onClick} disabled={busy}>
      {busy ? "Signing out…" : "Sign out"}
    </button>
  );
}

/**
 * Leaves the guarded page before signing out: a `<RequireAuth>` still on screen would see
 * "unauthenticated" and start a new login, which the IdP (still signed in) would grant at once.
 * flushSync commits the navigation first; the router must not defer it as a transition (main.tsx).
 */
export function SignOutHereButton(): ReactNode {
  const { logout } = useAuth();
  const navigate = useNavigate();
  const onClick = () => {
    flushSync(() => void navigate("/"));
    // Resolves at once: a local sign-out makes no request.
    logout({ local: true }).catch(() => undefined);
  };
  return (
    <button type="button" className="btn" data-testid="sign-out-local" onClick={onClick}>
      Sign out here only
    </button>
  );
}

/** A refresh even though the token is still valid; the outcome shows in the refresh and event logs. */
export function RefreshNowButton(): ReactNode {
  const { getAccessToken } = useAuth();
  const [busy, setBusy] = useState(false);
  const onClick = () => {
    setBusy(true);
    getAccessToken({ forceRefresh: true })
      .catch(() => undefined)
      .finally(() => setBusy(false));
  };
  return (
    <button type="button" className="btn btn-primary" data-testid="refresh-now" onClick={onClick} disabled={busy}>
      {busy ? "Refreshing…" : "Refresh now"}
    </button>
  );
}

function claimText(claims: Claims, name: string): string | undefined {
  const value = claims[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** The user's display name: the `name` claim, or the subject when the IdP sends no name. */
export function displayName(claims: Claims, sub: string | undefined): string {
  return claimText(claims, "name") ?? claimText(claims, "preferred_username") ?? sub ?? "Unknown user";
}

export function Avatar({ name }: { name: string }): ReactNode {
  const initials = name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]?.toUpperCase())
    .join("");
  return (
    <span className="avatar" aria-hidden="true">
      {initials || "?"}
    </span>
  );
}

/** Who is signed in: avatar, name (the `user-name` test id) and email. */
export function UserSummary(): ReactNode {
  const { user } = useAuth();
  if (!user) return null;
  const name = displayName(user.claims, user.sub);
  const email = claimText(user.claims, "email");
  return (
    <div className="user">
      <Avatar name={name} />
      <div className="user-text">
        <span className="eyebrow">Signed in as</span>
        <strong className="user-name" data-testid="user-name">
          {name}
        </strong>
        {email && <span className="muted">{email}</span>}
      </div>
    </div>
  );
}

/* ------------------------------------------------------------------ claims */

// Claims in seconds since the epoch (OIDC Core §2, §5.1): shown with a readable date beside them.
const TIME_CLAIMS = new Set(["auth_time", "updated_at"]);

function formatClaim(name: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" && TIME_CLAIMS.has(name)) return `${value}  (${new Date(value * 1000).toLocaleString()})`;
  return JSON.stringify(value);
}

export function ClaimsTable({ claims }: { claims: Claims }): ReactNode {
  const entries = Object.entries(claims);
  if (entries.length === 0) return <p className="muted">The ID token carried no claims.</p>;
  return (
    <div className="table-wrap">
      <table className="claims">
        <thead>
          <tr>
            <th scope="col">Claim</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {entries.map(([name, value]) => (
            <tr key={name}>
              <th scope="row">
                <code>{name}</code>
              </th>
              <td>
                <code>{formatClaim(name, value)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/* ------------------------------------------------------------------ access token */

/** The current time, ticking every second while `active`: drives the countdown. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

interface TokenPreview {
  readonly masked: string;
  readonly length: number;
  readonly format: "JWT" | "opaque";
}

function isJwt(token: string): boolean {
  const [header, payload, signature] = token.split(".");
  if (!header || !payload || signature === undefined || token.split(".").length !== 3) return false;
  try {
    const decoded: unknown = JSON.parse(atob(header.replace(/-/g, "+").replace(/_/g, "/")));
    return typeof decoded === "object" && decoded !== null && "alg" in decoded;
  } catch {
    return false;
  }
}

/**
 * A masked preview of the current access token, read again whenever its expiry changes. Only
 * the preview becomes React state: the token itself stays inside the SDK, as in a real app.
 */
function useTokenPreview(expiresAt: number | undefined): TokenPreview | null {
  const { status, getAccessToken } = useAuth();
  const [preview, setPreview] = useState<TokenPreview | null>(null);
  useEffect(() => {
    if (status !== "authenticated") {
      setPreview(null);
      return;
    }
    let active = true;
    getAccessToken().then(
      (token) => {
        if (!active) return;
        setPreview({
          // Few enough characters that the preview is useless as a credential, even for an opaque token.
          masked: token.length > 24 ? `${token.slice(0, 6)}…${token.slice(-4)}` : "•".repeat(10),
          length: token.length,
          format: isJwt(token) ? "JWT" : "opaque",
        });
      },
      () => {
        if (active) setPreview(null);
      },
    );
    return () => {
      active = false;
    };
  }, [status, getAccessToken, expiresAt]);
  return preview;
}

function RefreshLog({ entries }: { entries: readonly RefreshEntry[] }): ReactNode {
  return (
    <>
      <ul className="log" data-testid="refresh-log">
        {[...entries].reverse().map((entry) => (
          <li key={entry.id} data-expires-at={entry.expiresAt}>
            <time dateTime={new Date(entry.at).toISOString()}>{formatTime(entry.at)}</time>
            <span>refreshed</span>
            <span className="muted">
              {entry.expiresAt === undefined
                ? "no expiry given"
                : `new expiry ${formatTime(entry.expiresAt)} (${Math.round((entry.expiresAt - entry.at) / 1000)} s)`}
            </span>
          </li>
        ))}
      </ul>
      {entries.length === 0 && <p className="muted small">No refresh yet. The SDK refreshes the token a minute before it expires (or when getAccessToken() finds it stale).</p>}
    </>
  );
}

export function AccessTokenCard({ tracker }: { tracker: TokenTracker }): ReactNode {
  const tokens = useSyncExternalStore(tracker.subscribe, tracker.getSnapshot);
  const preview = useTokenPreview(tokens.expiresAt);
  const now = useNow(tokens.expiresAt !== undefined);
  const { expiresAt, receivedAt } = tokens;
  // The last tick may predate the token just received: never count from before its receipt.
  const at = Math.max(now, receivedAt ?? now);
  const secondsLeft = expiresAt === undefined ? undefined : Math.max(0, Math.ceil((expiresAt - at) / 1000));
  const lifetime = expiresAt !== undefined && receivedAt !== undefined ? expiresAt - receivedAt : undefined;
  const fraction = lifetime && expiresAt !== undefined ? Math.min(1, Math.max(0, (expiresAt - at) / lifetime)) : 0;
  // The SDK refreshes within its 60-second leeway: the bar turns amber there.
  const soon = secondsLeft !== undefined && secondsLeft <= 60;

  return (
    <section className="card">
      <header className="card-head">
        <h2>Access token</h2>
        {preview && <span className="tag">{preview.format}</span>}
      </header>
      <div className="countdown">
        <span className={`countdown-value${secondsLeft === undefined ? " muted" : ""}`} data-testid="token-expires-in">
          {secondsLeft === undefined ? "—" : String(secondsLeft)}
        </span>
        <span className="countdown-unit">{secondsLeft === undefined ? "no token" : "seconds left"}</span>
      </div>
      <div className={`meter${soon ? " meter-soon" : ""}`} aria-hidden="true">
        <span style={{ width: `${fraction * 100}%` }} />
      </div>
      <dl className="facts">
        <div className="fact">
          <dt>Expires at</dt>
          <dd>{expiresAt === undefined ? "—" : formatTime(expiresAt)}</dd>
        </div>
        <div className="fact">
          <dt>Value</dt>
          <dd>
            {preview ? (
              <>
                <code>{preview.masked}</code> <span className="muted small">{preview.length} chars</span>
              </>
            ) : (
              "—"
            )}
          </dd>
        </div>
      </dl>
      {tokens.lastError && (
        <p className="warn small">
          A refresh failed and will be retried: <code>{tokens.lastError.code}</code> {tokens.lastError.message}
        </p>
      )}
      <h3>Refresh log, newest first</h3>
      <RefreshLog entries={tokens.refreshes} />
    </section>
  );
}

/* ------------------------------------------------------------------ event log */

const EVENT_TONES: Record<EventName, string> = {
  signedIn: "log-ok",
  refreshed: "log-ok",
  signedOut: "log-muted",
  sessionExpired: "log-warn",
  error: "log-bad",
};

/** Every `client.on(...)` event since the page loaded. */
export function EventLogCard({ log }: { log: EventLog }): ReactNode {
  const entries = useSyncExternalStore(log.subscribe, log.getSnapshot);
  return (
    <section className="card">
      <header className="card-head">
        <h2>Event log</h2>
        <span className="tag">client.on(…)</span>
      </header>
      <ul className="log" data-testid="event-log">
        {entries.map((entry) => (
          <li key={entry.id} className={EVENT_TONES[entry.name]} data-event={entry.name}>
            <time dateTime={new Date(entry.at).toISOString()}>{formatTime(entry.at)}</time>
            <span className="log-name">{entry.name}</span>
            <span className="muted">{entry.detail}</span>
          </li>
        ))}
      </ul>
      {entries.length === 0 && (
        <p className="muted small">
          No event yet, newest first when there are: <code>signedIn</code>, <code>refreshed</code>, <code>signedOut</code>,{" "}
          <code>sessionExpired</code> and <code>error</code>.
        </p>
      )}
    </section>
  );
}

/* ------------------------------------------------------------------ API call */

/** The audience the backend's guard accepts, or "" when it checks tokens at userinfo (a real IdP without SSO_API_AUDIENCE). */
export const API_AUDIENCE = import.meta.env.VITE_API_AUDIENCE ?? "";

interface ApiResult {
  readonly ok: boolean;
  /** A short label for the badge: "200 OK", "HTTP 401", or an error code. */
  readonly label: string;
  readonly text: string;
}

/** JSON indented for reading; anything else as it came. */
export function pretty(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

async function callApi(getAccessToken: () => Promise<string>): Promise<ApiResult> {
  let token: string;
  try {
    token = await getAccessToken();
  } catch (err) {
    // login_required when signed out: the SDK rejects rather than redirecting behind our back.
    const error = err instanceof AuthError ? err : new AuthError(AuthErrorCode.IdpError, String(err));
    return { ok: false, label: error.code, text: `${error.code}: ${error.message}` };
  }
  try {
    const res = await fetch("/api/me", { headers: { Authorization: `Bearer ${token}` } });
    const body = pretty(await res.text());
    if (res.ok) return { ok: true, label: `${res.status} ${res.statusText || "OK"}`.trim(), text: body };
    return { ok: false, label: `HTTP ${res.status}`, text: `HTTP ${res.status} ${res.statusText}`.trim() + (body ? `\n${body}` : "") };
  } catch (err) {
    return { ok: false, label: "network", text: `network: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export function ApiCard(): ReactNode {
  const { getAccessToken, isAuthenticated } = useAuth();
  const [result, setResult] = useState<ApiResult | null>(null);
  const [pending, setPending] = useState(false);
  // Only the latest click may write its result: an older, slower answer must not overwrite it.
  const latest = useRef(0);

  const onClick = async () => {
    const call = ++latest.current;
    setPending(true);
    setResult(null);
    const next = await callApi(getAccessToken);
    if (call !== latest.current) return;
    setResult(next);
    setPending(false);
  };

  return (
    <section className="card">
      <header className="card-head">
        <h2>Protected API</h2>
        {result && <span className={`tag ${result.ok ? "tag-ok" : "tag-bad"}`}>{result.label}</span>}
      </header>
      <p className="muted">
        <code>GET /api/me</code> with <code>Authorization: Bearer</code> and a token from <code>getAccessToken()</code>.{" "}
        {API_AUDIENCE ? (
          <>
            The backend checks it with <code>createTokenVerifier</code> and <code>requireAuth</code>: a JWT for the audience{" "}
            <code>{API_AUDIENCE}</code>, its signature checked against the IdP's keys, without a request to the IdP per call.
          </>
        ) : (
          <>
            The backend asks the IdP's userinfo endpoint whether the token is valid (set <code>SSO_API_AUDIENCE</code> to check JWT access
            tokens with the guard instead).
          </>
        )}
      </p>
      <button type="button" className="btn btn-primary" data-testid="call-api" onClick={() => void onClick()} disabled={pending}>
        {pending ? "Calling…" : "Call /api/me"}
      </button>
      {!isAuthenticated && !result && <p className="muted small">Signed out, the call shows how getAccessToken() rejects.</p>}
      {result && (
        <pre className={`code-block${result.ok ? "" : " code-block-bad"}`} data-testid="api-result" data-ok={result.ok}>
          {result.text}
        </pre>
      )}
    </section>
  );
}

/* ------------------------------------------------------------------ configuration */

export function ConfigCard({ config }: { config: AuthConfig }): ReactNode {
  const scope = typeof config.scope === "string" ? config.scope : (config.scope ?? []).join(" ");
  const rows: [string, string | undefined][] = [
    ["authority", config.authority],
    ["clientId", config.clientId],
    ["scope", scope],
    ["redirectUri", config.redirectUri],
    ["tokenProxy", config.tokenProxy],
    ["postLogoutRedirectUri", config.postLogoutRedirectUri],
    ["extraAuthorizeParams", config.extraAuthorizeParams && Object.entries(config.extraAuthorizeParams).map(([name, value]) => `${name}: ${value}`).join(", ")],
  ];
  return (
    <section className="card">
      <header className="card-head">
        <h2>Configuration</h2>
        <span className="tag">createAuthClient(config)</span>
      </header>
      <dl className="facts facts-wide">
        {rows.map(([name, value]) => (
          <div key={name} className="fact">
            <dt>
              <code>{name}</code>
            </dt>
            <dd>{value ? <code>{value}</code> : <span className="muted">not set</span>}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
