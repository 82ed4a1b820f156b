// The React half of the renders measurement (imported once jsdom is installed).
import { act, type ReactNode } from "react";
import { createRoot } from "react-dom/client";
import { AuthProvider, useAuth as useOidcAuth } from "react-oidc-context";
import { OAuthProvider, useAuth } from "react-sso-kit";
import type { RenderCount } from "./renders.js";
import { CLIENT_ID, REDIRECT_URI } from "./rendersShared.js";
import type { StubIdp } from "./stubIdp.js";

const COMPONENTS = 100;
const REFRESHES = 3;
const VOLATILE = new Set(["exp", "iat", "nbf", "jti", "nonce", "at_hash", "c_hash", "s_hash"]);

/** A signed-in session from the stub: one code exchange, as a login would end. */
async function signedIn(stub: StubIdp) {
  const response = await fetch(stub.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code: "renders", client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, code_verifier: "v".repeat(43) }).toString(),
  });
  const tokens = (await response.json()) as { access_token: string; refresh_token: string; id_token: string; expires_in: number; scope: string };
  const claims = JSON.parse(Buffer.from(tokens.id_token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
  return { tokens, claims };
}

export async function measureRenders(sdk: string, stub: StubIdp): Promise<RenderCount> {
  sessionStorage.clear();
  localStorage.clear();
  const { tokens, claims } = await signedIn(stub);
  const counter = { renders: 0 };
  let refresh: (() => Promise<unknown>) | undefined;
  let ready: () => boolean;
  let tree: ReactNode;

  if (sdk === "react-sso") {
    sessionStorage.setItem(
      `react-sso.session:${stub.issuer}:${CLIENT_ID}`,
      JSON.stringify({
        accessToken: tokens.access_token,
        expiresAt: Date.now() + tokens.expires_in * 1000,
        lifetime: tokens.expires_in * 1000,
        refreshToken: tokens.refresh_token,
        idToken: tokens.id_token,
        scopes: tokens.scope.split(" "),
        sub: claims.sub,
        claims: Object.fromEntries(Object.entries(claims).filter(([name]) => !VOLATILE.has(name))),
      }),
    );
    let status = "";
    const Consumer = ({ first }: { first: boolean }) => {
      const { getAccessToken, status: now } = useAuth();
      counter.renders++;
      if (first) {
        refresh = () => getAccessToken({ forceRefresh: true });
        status = now;
      }
      return null;
    };
    ready = () => status === "authenticated";
    tree = (
      <OAuthProvider config={{ authority: stub.issuer, clientId: CLIENT_ID, redirectUri: REDIRECT_URI, scope: "openid profile", storage: "session" }}>
        {Array.from({ length: COMPONENTS }, (_, i) => <Consumer key={i} first={i === 0} />)}
      </OAuthProvider>
    );
  } else if (sdk === "react-oidc-context") {
    sessionStorage.setItem(
      `oidc.user:${stub.issuer}:${CLIENT_ID}`,
      JSON.stringify({
        id_token: tokens.id_token,
        session_state: null,
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        token_type: "Bearer",
        scope: tokens.scope,
        profile: claims,
        expires_at: Math.floor(Date.now() / 1000) + tokens.expires_in,
      }),
    );
    let authenticated = false;
    const Consumer = ({ first }: { first: boolean }) => {
      // Its only hook: a component that wants a token takes the whole auth state.
      const auth = useOidcAuth();
      counter.renders++;
      if (first) {
        refresh = () => auth.signinSilent();
        authenticated = auth.isAuthenticated;
      }
      return null;
    };
    ready = () => authenticated;
    tree = (
      <AuthProvider authority={stub.issuer} client_id={CLIENT_ID} redirect_uri={REDIRECT_URI} scope="openid profile">
        {Array.from({ length: COMPONENTS }, (_, i) => <Consumer key={i} first={i === 0} />)}
      </AuthProvider>
    );
  } else {
    throw new Error(`renders: no app for ${sdk}`);
  }

  const container = document.createElement("div");
  document.body.append(container);
  const root = createRoot(container);
  try {
    await act(async () => root.render(tree));
    // The provider reads its session asynchronously; wait (bounded) until the components see it.
    for (let i = 0; i < 200 && !ready(); i++) await act(() => new Promise((resolve) => setTimeout(resolve, 10)));
    if (!ready()) throw new Error(`renders: ${sdk} never showed the stored session as signed in`);
    const before = stub.counts.refresh_token;
    counter.renders = 0;
    for (let i = 0; i < REFRESHES; i++) {
      if (!refresh) throw new Error(`renders: ${sdk} exposed no refresh`);
      await act(async () => {
        await refresh?.();
      });
    }
    return { sdk, components: COMPONENTS, refreshes: REFRESHES, renders: counter.renders, refreshRequests: stub.counts.refresh_token - before };
  } finally {
    await act(async () => root.unmount());
    container.remove();
  }
}
