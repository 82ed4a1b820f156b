// The cycles the memory measurement repeats (imported once jsdom is installed).
import { createRoot } from "react-dom/client";
import { createAuthClient, type AuthClient } from "react-sso-kit/core";
import { OAuthProvider, useAuth } from "react-sso-kit";
import type { StubIdp } from "./stubIdp.js";

const CLIENT_ID = "bench-memory";
const REDIRECT_URI = "http://localhost:3000/callback";

/** Each client's timeoutMs: what a request's timeout signal lives for, and so how long a measurement waits for the last ones. */
export const REQUEST_TIMEOUT_MS = 2_000;

type Cycle = () => Promise<void>;
const hasDispose = (client: AuthClient): client is AuthClient & { dispose(): void } => typeof (client as { dispose?: unknown }).dispose === "function";

/** One client, as an app has, signing in and out again and again. */
export async function engineCycles(stub: StubIdp): Promise<[Cycle, boolean]> {
  let opened = "";
  const client = createAuthClient({
    authority: stub.issuer,
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: "openid profile",
    storage: "session",
    timeoutMs: REQUEST_TIMEOUT_MS,
    openUrl: (url) => {
      opened = url;
    },
  });
  const cycle = async () => {
    await client.login();
    await client.handleCallback(stub.authorize(opened));
    await client.getAccessToken({ forceRefresh: true });
    await client.logout();
    if (!opened.startsWith(`${stub.issuer}/end`)) throw new Error("memory: logout did not open the end-session endpoint");
  };
  return [cycle, hasDispose(client)];
}

let status = "";
function Status() {
  status = useAuth().status;
  return null;
}

/** A provider that creates its client from `config`, mounted and unmounted: each mount is a new client. */
export async function providerCycles(stub: StubIdp): Promise<[Cycle, boolean]> {
  const container = document.createElement("div");
  document.body.append(container);
  const config = { authority: stub.issuer, clientId: CLIENT_ID, redirectUri: REDIRECT_URI, scope: "openid profile", timeoutMs: REQUEST_TIMEOUT_MS };
  const probe = createAuthClient(config);
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const cycle = async () => {
    status = "";
    const root = createRoot(container);
    root.render(
      <OAuthProvider config={config}>
        <Status />
      </OAuthProvider>,
    );
    for (let i = 0; i < 100 && status !== "unauthenticated"; i++) await turn();
    if (status !== "unauthenticated") throw new Error("memory: the provider never rendered its status");
    root.unmount();
    await turn();
  };
  return [cycle, hasDispose(probe)];
}
