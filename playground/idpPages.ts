// The local IdP's HTML pages: sign-in, consent, sign-out, signed-out and errors. They share the
// playground app's look and load nothing but the favicon, from their own origin: oidc-provider's
// built-in pages pull web fonts from a CDN, which fails offline.
//
// Every value from a request or a client's metadata goes through `escapeHtml`.

/** The playground's shield, in the IdP's colours (the app's icon is the same shape in indigo). */
export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">' +
  '<path d="M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5l-8-3Z" fill="#0f172a" stroke="#818cf8" stroke-width="1.6"/>' +
  '<circle cx="12" cy="10.5" r="2.2" fill="#a5b4fc"/>' +
  '<path d="M12 12.5v3.5" stroke="#a5b4fc" stroke-width="1.8" stroke-linecap="round"/></svg>';

/**
 * Served with every page. Nothing may load from elsewhere (`default-src 'none'`); the only
 * stylesheet is inline. No `form-action`: Chrome applies it to the redirects that follow a
 * submission, and those go to the client's redirect_uri on another origin.
 */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

// The app's palette and type (playground/app/styles.css), trimmed to what these pages use.
const STYLES = `
:root{--bg:#f4f6f9;--surface:#fff;--surface-2:#f8fafc;--border:#e1e5eb;--text:#16191f;--muted:#5a6472;--accent:#4f46e5;--accent-hover:#4338ca;--accent-soft:#eef2ff;--bad:#b91c1c;--bad-soft:#fef2f2;--header:#0f172a;--radius:12px;
--font:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;--mono:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace;color-scheme:light}
@media (prefers-color-scheme:dark){:root{--bg:#0b1020;--surface:#121a2b;--surface-2:#0f1626;--border:#243049;--text:#e6e9ef;--muted:#9aa4b5;--accent:#818cf8;--accent-hover:#a5b4fc;--accent-soft:#1e2548;--bad:#f87171;--bad-soft:#2d1416;--header:#060a14;color-scheme:dark}}
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;background:var(--bg);color:var(--text);font:15px/1.55 var(--font)}
.topbar{background:var(--header);color:#e2e8f0}
.topbar-inner{max-width:880px;margin:0 auto;padding:12px 20px;display:flex;align-items:center;gap:8px;font-weight:650}
.topbar-inner svg{flex:none}
.topbar-inner .tag{margin-left:4px;padding:1px 8px;border-radius:999px;background:rgb(255 255 255 / .08);color:#cbd5e1;font-size:.72rem;font-weight:500;white-space:nowrap}
main{flex:1;width:100%;max-width:440px;margin:0 auto;padding:40px 16px}
.card{background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);padding:24px;box-shadow:0 1px 2px rgb(15 23 42 / .04),0 1px 8px rgb(15 23 42 / .04)}
h1{margin:0 0 4px;font-size:1.35rem;line-height:1.25}
p{margin:.5em 0}
.muted{color:var(--muted)}
.small{font-size:.85rem}
code{font-family:var(--mono);font-size:.86em;padding:.1em .35em;border-radius:5px;background:var(--surface-2);border:1px solid var(--border);overflow-wrap:anywhere}
.note{margin:16px 0;padding:10px 12px;border-radius:8px;background:var(--accent-soft);font-size:.9rem}
label{display:block;margin:14px 0 4px;font-size:.85rem;font-weight:600;color:var(--muted)}
input[type=text],input[type=password]{width:100%;min-height:40px;padding:8px 12px;border:1px solid var(--border);border-radius:8px;background:var(--surface-2);color:var(--text);font:inherit}
input:focus-visible,button:focus-visible,a:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
.actions{display:flex;flex-wrap:wrap;align-items:center;gap:10px 16px;margin-top:20px}
.btn{display:inline-flex;align-items:center;justify-content:center;min-height:38px;padding:8px 16px;border-radius:8px;border:1px solid var(--border);background:var(--surface);color:var(--text);font:600 .92rem/1.2 var(--font);cursor:pointer;text-decoration:none}
.btn:hover{border-color:var(--muted)}
.btn-primary{background:var(--accent);border-color:var(--accent);color:#fff}
.btn-primary:hover{background:var(--accent-hover);border-color:var(--accent-hover)}
@media (prefers-color-scheme:dark){.btn-primary{color:#0b1020}}
a{color:var(--accent)}
.scopes{margin:12px 0 0;padding:0;list-style:none}
.scopes li{display:flex;flex-wrap:wrap;gap:2px 10px;align-items:baseline;padding:8px 0;border-top:1px solid var(--border)}
.scopes li:first-child{border-top:0}
.error{border-left:4px solid var(--bad);background:var(--bad-soft)}
.error code{color:var(--bad)}
footer{padding:0 16px 28px;text-align:center;color:var(--muted);font-size:.82rem}
`;

const LOGO =
  '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">' +
  '<path d="M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5l-8-3Z" fill="#a5b4fc" opacity=".25"/>' +
  '<path d="M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5l-8-3Z" fill="none" stroke="#a5b4fc" stroke-width="1.6"/>' +
  '<circle cx="12" cy="10.5" r="2.2" fill="#a5b4fc"/>' +
  '<path d="M12 12.5v3.5" stroke="#a5b4fc" stroke-width="1.8" stroke-linecap="round"/></svg>';

/** A whole page around `body` (already HTML). */
function page(title: string, body: string, cardClass = "card"): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)} · local identity provider</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<style>${STYLES}</style>
</head>
<body>
<header class="topbar"><div class="topbar-inner">${LOGO}<span>Local identity provider</span><span class="tag">playground</span></div></header>
<main><section class="${cardClass}">
${body}
</section></main>
<footer>oidc-provider on this machine, for the playground and the tests. Not a real account system.</footer>
</body>
</html>`;
}

export interface LoginPage {
  /** The client's display name. */
  client: string;
  submitUrl: string;
  abortUrl: string;
  loginHint?: string | undefined;
}

/** The `prompt` hidden field, the `login` and `password` inputs and the `/abort` link are what test/support/idpControl.ts looks for. */
export function loginPage({ client, submitUrl, abortUrl, loginHint }: LoginPage): string {
  const hint = loginHint ? ` value="${escapeHtml(loginHint)}"` : " autofocus";
  return page(
    "Sign in",
    `<h1>Sign in</h1>
<p class="muted">to continue to <strong>${escapeHtml(client)}</strong></p>
<p class="note">Any username signs in as that user (<code>ada</code> becomes “User ada”), with any password.</p>
<form method="post" action="${escapeHtml(submitUrl)}" autocomplete="off">
<input type="hidden" name="prompt" value="login">
<label for="login">Username</label>
<input type="text" id="login" name="login" required autocomplete="username" autocapitalize="none" spellcheck="false"${hint}>
<label for="password">Password</label>
<input type="password" id="password" name="password" required autocomplete="current-password"${loginHint ? " autofocus" : ""}>
<div class="actions"><button type="submit" class="btn btn-primary">Sign in</button><a href="${escapeHtml(abortUrl)}">Cancel</a></div>
</form>`,
  );
}

const SCOPE_TEXT: Record<string, string> = {
  openid: "Sign you in with your user ID",
  profile: "See your name",
  email: "See your email address",
  offline_access: "Keep you signed in while you are away (a refresh token)",
};

export interface ConsentPage {
  client: string;
  accountId: string;
  /** Every scope the client asks for, granted before or not. */
  scopes: readonly string[];
  submitUrl: string;
  abortUrl: string;
}

export function consentPage({ client, accountId, scopes, submitUrl, abortUrl }: ConsentPage): string {
  const items = scopes
    .map((scope) => `<li><code>${escapeHtml(scope)}</code><span>${escapeHtml(SCOPE_TEXT[scope] ?? "Use this API permission")}</span></li>`)
    .join("\n");
  return page(
    "Allow access",
    `<h1>Allow access</h1>
<p class="muted">Signed in as <strong>${escapeHtml(accountId)}</strong>. <strong>${escapeHtml(client)}</strong> asks to:</p>
<ul class="scopes">
${items}
</ul>
<form method="post" action="${escapeHtml(submitUrl)}">
<input type="hidden" name="prompt" value="consent">
<div class="actions"><button type="submit" class="btn btn-primary" autofocus>Continue</button><a href="${escapeHtml(abortUrl)}">Cancel</a></div>
</form>`,
  );
}

/**
 * oidc-provider's `logoutSource`: `form` is its hidden form (with the XSRF secret), which the
 * buttons submit through their `form` attribute; `logout=yes` ends the IdP session too.
 */
export function logoutPage(host: string, form: string): string {
  return page(
    "Sign out",
    `<h1>Sign out?</h1>
<p class="muted">This ends your session at the local identity provider (<code>${escapeHtml(host)}</code>), so the next sign-in asks for a username again.</p>
${form}
<div class="actions"><button type="submit" class="btn btn-primary" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button><button type="submit" class="btn" form="op.logoutForm">No, stay signed in</button></div>`,
  );
}

/** oidc-provider's `postLogoutSuccessSource`: shown when the client named no post_logout_redirect_uri. */
export function signedOutPage(client: string | undefined): string {
  return page(
    "Signed out",
    `<h1>Signed out</h1>
<p class="muted">You are signed out of the local identity provider${client ? ` and of <strong>${escapeHtml(client)}</strong>` : ""}. You can close this page.</p>`,
  );
}

/** An error the user can read: the OAuth error code and its description, as text. */
export function errorPage(error: string, description: string | undefined): string {
  return page(
    "Error",
    `<h1>Something went wrong</h1>
<p><code>${escapeHtml(error)}</code></p>
${description ? `<p>${escapeHtml(description)}</p>` : ""}
<p class="muted small">Go back to the app and sign in again.</p>`,
    "card error",
  );
}
