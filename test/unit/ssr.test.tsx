// @vitest-environment node
import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";

const BROWSER_GLOBALS = ["window", "document", "location", "history", "sessionStorage", "localStorage"] as const;

const config = {
  authority: "https://sso.example.com",
  clientId: "spa",
  redirectUri: "https://app.example.com/callback",
  tokenProxy: "/auth/token",
  scope: "openid profile",
};

/**
 * Imports the entries with a tripwire on every browser global: an access at import time is
 * recorded (and would throw in a real server anyway, where these names do not exist).
 */
async function importWatched() {
  // The dependencies are loaded first: what is checked here is our own modules' top level.
  await Promise.all([import("react"), import("react/jsx-runtime"), import("oauth4webapi")]);
  const touched: string[] = [];
  for (const name of BROWSER_GLOBALS) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        touched.push(name);
        return undefined;
      },
    });
  }
  try {
    const [react, core] = await Promise.all([import("react-sso-kit"), import("react-sso-kit/core")]);
    return { react, core, touched };
  } finally {
    for (const name of BROWSER_GLOBALS) delete (globalThis as Record<string, unknown>)[name];
  }
}

describe("server-side rendering", () => {
  it("runs in an environment without browser globals", () => {
    for (const name of BROWSER_GLOBALS) expect(name in globalThis, name).toBe(false);
  });

  it("importing react-sso-kit and react-sso-kit/core touches no window, document or storage", async () => {
    const { react, core, touched } = await importWatched();
    expect(touched).toEqual([]);
    expect(typeof react.OAuthProvider).toBe("function");
    expect(typeof core.createAuthClient).toBe("function");
  });

  it('createAuthClient(validConfig) does not throw, and the snapshot is "loading"', async () => {
    const { createAuthClient } = await import("react-sso-kit/core");
    const client = createAuthClient(config);
    expect(client.getSnapshot().status).toBe("loading");
    expect(client.getSnapshot()).toBe(client.getSnapshot());
    const unsubscribe = client.subscribe(() => undefined);
    expect(typeof unsubscribe).toBe("function");
    unsubscribe();
  });

  it("still validates the config on the server", async () => {
    const { createAuthClient, AuthError } = await import("react-sso-kit/core");
    expect(() => createAuthClient({ ...config, authority: "http://sso.example.com" })).toThrow(AuthError);
  });

  it("renderToString renders RequireAuth's fallback, never its children", async () => {
    const { OAuthProvider, RequireAuth } = await import("react-sso-kit");
    const html = renderToString(
      <OAuthProvider config={config}>
        <RequireAuth fallback={<p>wait</p>}>secret</RequireAuth>
      </OAuthProvider>,
    );
    expect(html).toContain("wait");
    expect(html).not.toContain("secret");
  });

  it("renderToString renders Callback's loading state", async () => {
    const { OAuthProvider, Callback } = await import("react-sso-kit");
    const html = renderToString(
      <OAuthProvider config={config}>
        <Callback loading={<p>finishing sign-in</p>} />
      </OAuthProvider>,
    );
    expect(html).toContain("finishing sign-in");
  });
});
