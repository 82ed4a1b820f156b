// Cards that show react-sso-kit/server at work behind the app: authFetch recovering from a
// token the API refuses, and the backend calling another service with a token of its own.
import { useState, useSyncExternalStore, type ReactNode } from "react";
import { AuthError, useAuth } from "react-sso-kit";
import { API_AUDIENCE, formatTime, pretty } from "./components.js";
import type { RequestEntry, RequestLog } from "./requestLog.js";

const REPORTS_SERVICE = import.meta.env.VITE_REPORTS_SERVICE ?? "";

/** What an answer said, for a `<pre>`: the status line and the body. */
async function answerText(res: Response): Promise<string> {
  const body = pretty(await res.text());
  return `HTTP ${res.status} ${res.statusText}`.trim() + (body ? `\n${body}` : "");
}

function failureText(err: unknown): string {
  return err instanceof AuthError ? `${err.code}: ${err.message}` : `network: ${err instanceof Error ? err.message : String(err)}`;
}

/* ------------------------------------------------------------------ authFetch: refresh and retry */

/** What a step of the run meant, in words. */
function stepNote(entry: RequestEntry): string {
  if (entry.url === "/api/playground/revoke") return entry.status === 200 ? "the API now refuses this access token" : "the revocation failed";
  if (entry.url === "/auth/token") return entry.status === 200 ? "authFetch's refresh, through the token proxy" : "the refresh failed";
  if (entry.url === "/api/me") {
    if (entry.status === 200) return "accepted: the new token";
    if (entry.status === 401 && entry.challenge === "invalid_token") return "refused: authFetch refreshes once and sends it again";
    return "refused";
  }
  return "";
}

function Steps({ entries, testId }: { entries: readonly RequestEntry[]; testId: string }): ReactNode {
  return (
    <ol className="steps" data-testid={testId}>
      {entries.map((entry) => (
        <li key={entry.id} className={entry.status === "failed" || entry.status >= 400 ? "step-bad" : "step-ok"} data-url={entry.url} data-status={entry.status}>
          <code>
            {entry.method} {entry.url}
          </code>
          <span className="step-status">
            {entry.status}
            {entry.challenge && ` ${entry.challenge}`}
          </span>
          <span className="muted">{stepNote(entry)}</span>
        </li>
      ))}
    </ol>
  );
}

/** The run's requests are the log's entries from `from` up to, not including, `to` (open while it runs). */
type RetryRun = { readonly from: number; readonly to: number | undefined; readonly outcome: { ok: boolean; text: string } | undefined };

/**
 * Revokes the current access token at the API, then calls /api/me with authFetch: the API's 401
 * `invalid_token` makes authFetch refresh once and retry. The steps are the requests the client's
 * `fetch` saw since the click, so whatever else happened meanwhile (a scheduled refresh) shows too.
 */
export function RetryCard({ requests }: { requests: RequestLog }): ReactNode {
  const { authFetch, getAccessToken, isAuthenticated } = useAuth();
  const entries = useSyncExternalStore(requests.subscribe, requests.getSnapshot);
  const [run, setRun] = useState<RetryRun | null>(null);
  const running = run !== null && run.outcome === undefined;

  const onClick = async () => {
    const from = requests.nextId();
    setRun({ from, to: undefined, outcome: undefined });
    let outcome: RetryRun["outcome"];
    try {
      const token = await getAccessToken();
      // Through the logging fetch, so that it takes its place among the steps.
      const revoked = await requests.fetch("/api/playground/revoke", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
      if (!revoked.ok) outcome = { ok: false, text: await answerText(revoked) };
      else {
        const res = await authFetch("/api/me");
        outcome = { ok: res.ok, text: await answerText(res) };
      }
    } catch (err) {
      outcome = { ok: false, text: failureText(err) };
    }
    setRun({ from, to: requests.nextId(), outcome });
  };

  const steps = run ? entries.filter((entry) => entry.id >= run.from && (run.to === undefined || entry.id < run.to)) : [];
  const meCalls = steps.filter((entry) => entry.url === "/api/me").length;
  const refreshes = steps.filter((entry) => entry.url === "/auth/token").length;
  return (
    <section className="card" data-testid="retry-card">
      <header className="card-head">
        <h2>Refresh and retry</h2>
        <span className="tag">authFetch()</span>
      </header>
      <p className="muted">
        A JWT access token is checked by its signature alone, so the IdP cannot take one back before it expires (oidc-provider's revocation
        endpoint answers <code>unsupported_token_type</code>). An API that must refuse one early keeps its own list, as this playground's
        does. The button puts the current token on it, then calls <code>/api/me</code> with <code>authFetch</code>: the answer, 401{" "}
        <code>invalid_token</code>, makes authFetch refresh once and send the request again.
      </p>
      <button type="button" className="btn btn-primary" data-testid="revoke-and-retry" onClick={() => void onClick()} disabled={running || !isAuthenticated || !API_AUDIENCE}>
        {running ? "Calling…" : "Revoke the token, then authFetch /api/me"}
      </button>
      {!API_AUDIENCE && (
        <p className="muted small">
          Needs the guard on <code>/api/me</code>: the local IdP, or <code>SSO_API_AUDIENCE</code> with a real one.
        </p>
      )}
      {API_AUDIENCE && !isAuthenticated && !run && <p className="muted small">Sign in first: there is no token to revoke yet.</p>}
      {run && (
        <>
          <h3>What happened, in order</h3>
          <Steps entries={steps} testId="retry-steps" />
          {run.outcome && (
            <>
              <p className="small" data-testid="retry-summary">
                {meCalls} {meCalls === 1 ? "call" : "calls"} to <code>/api/me</code>, {refreshes} {refreshes === 1 ? "refresh" : "refreshes"}. The
                refresh is in the access token's refresh log and the event log (<code>refreshed</code>).
              </p>
              <pre className={`code-block${run.outcome.ok ? "" : " code-block-bad"}`} data-testid="retry-result" data-ok={run.outcome.ok}>
                {run.outcome.text}
              </pre>
            </>
          )}
        </>
      )}
    </section>
  );
}

/* ------------------------------------------------------------------ service to service */

const CALLS = 10;

interface ReportAnswer {
  reportsService?: { status: number; body: unknown };
  tokenRequests?: number;
  idpRequests?: string[];
  serviceTokenExpiresAt?: string;
}

interface ReportRun {
  readonly statuses: readonly number[];
  /** Token requests the backend's client made during these calls, by its own count. */
  readonly tokenRequests: number;
  readonly idpRequests: readonly string[];
  readonly last: { ok: boolean; text: string } | undefined;
  readonly tokenExpiresAt: number | undefined;
  readonly error: string | undefined;
}

/** Calls /api/report ten times, one after the other: the backend's client-credentials token is requested once and then cached. */
export function ServiceCallCard(): ReactNode {
  const { authFetch, isAuthenticated } = useAuth();
  const [run, setRun] = useState<ReportRun | null>(null);
  const [running, setRunning] = useState(false);

  const onClick = async () => {
    setRunning(true);
    setRun(null);
    const statuses: number[] = [];
    const idpRequests: string[] = [];
    let tokenRequests = 0;
    let last: ReportRun["last"];
    let tokenExpiresAt: number | undefined;
    let error: string | undefined;
    for (let call = 0; call < CALLS && error === undefined; call++) {
      try {
        const res = await authFetch("/api/report");
        statuses.push(res.status);
        const text = await res.text();
        if (!res.ok) {
          last = { ok: false, text: `HTTP ${res.status}\n${pretty(text)}` };
          continue;
        }
        const answer = JSON.parse(text) as ReportAnswer;
        tokenRequests += answer.tokenRequests ?? 0;
        idpRequests.push(...(answer.idpRequests ?? []));
        if (answer.serviceTokenExpiresAt) tokenExpiresAt = Date.parse(answer.serviceTokenExpiresAt);
        const service = answer.reportsService;
        last = { ok: service?.status === 200, text: `HTTP ${service?.status ?? "?"}\n${JSON.stringify(service?.body, null, 2)}` };
      } catch (err) {
        error = failureText(err);
      }
    }
    setRun({ statuses, tokenRequests, idpRequests, last, tokenExpiresAt, error });
    setRunning(false);
  };

  const answered = run?.statuses.filter((status) => status === 200).length ?? 0;
  return (
    <section className="card" data-testid="service-card">
      <header className="card-head">
        <h2>Service to service</h2>
        <span className="tag">createOAuthClient()</span>
      </header>
      <p className="muted">
        <code>GET /api/report</code> makes the backend call a reports service with a token of its own, not yours: the client-credentials
        grant of <code>createOAuthClient</code>, through <code>getAccessToken({"{ scope: \"reports:read\", resource }"})</code>, which keeps
        the token until a minute before it expires. The reports service checks it with its own <code>createTokenVerifier</code>.
      </p>
      <button type="button" className="btn btn-primary" data-testid="call-report" onClick={() => void onClick()} disabled={running || !isAuthenticated || !REPORTS_SERVICE}>
        {running ? "Calling…" : `Call /api/report ${CALLS} times`}
      </button>
      {!REPORTS_SERVICE && <p className="muted small">Runs with the local IdP only: it registers the backend's client and the reports service.</p>}
      {REPORTS_SERVICE && !isAuthenticated && !run && <p className="muted small">Sign in first: /api/report takes your token too.</p>}
      {run && (
        <>
          <p className="small" data-testid="report-summary" data-token-requests={run.tokenRequests}>
            {run.statuses.length} {run.statuses.length === 1 ? "call" : "calls"}, {answered} answered 200. The backend asked the IdP for a token{" "}
            <strong>{run.tokenRequests}</strong> {run.tokenRequests === 1 ? "time" : "times"}
            {run.tokenRequests === 0
              ? `: the token it got earlier is still cached${run.tokenExpiresAt ? ` (it expires at ${formatTime(run.tokenExpiresAt)})` : ""}.`
              : `; the other ${Math.max(0, answered - run.tokenRequests)} calls used the cached token.`}
          </p>
          {run.idpRequests.length > 0 && (
            <>
              <h3>The backend's requests to the IdP (its debug lines)</h3>
              <ul className="log" data-testid="report-idp-requests">
                {run.idpRequests.map((line, index) => (
                  <li key={index}>
                    <span className="muted">{line}</span>
                  </li>
                ))}
              </ul>
            </>
          )}
          {run.error && <p className="warn small">{run.error}</p>}
          {run.last && (
            <>
              <h3>The reports service's answer</h3>
              <pre className={`code-block${run.last.ok ? "" : " code-block-bad"}`} data-testid="report-result" data-ok={run.last.ok}>
                {run.last.text}
              </pre>
            </>
          )}
        </>
      )}
    </section>
  );
}
