import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuthError } from "react-sso-kit";
import { getStats, loginAtIdp } from "../support/idpControl.js";
import { App, freshPage, issuer, makeClient, renderApp, resetWorld, screen, startLoginAt, waitFor } from "./helpers.js";

beforeEach(resetWorld);
afterEach(resetWorld);

async function callbackUrl(path = "/account"): Promise<string> {
  return loginAtIdp(await startLoginAt(path));
}

function withParam(url: string, name: string, value: string | null): string {
  const u = new URL(url);
  if (value === null) u.searchParams.delete(name);
  else u.searchParams.set(name, value);
  return u.href;
}

async function callbackError(url: string): Promise<AuthError> {
  await freshPage(url);
  const { client } = makeClient();
  const error = await client.handleCallback().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AuthError)) throw new Error(`expected an AuthError, got ${String(error)}`);
  return error;
}

describe("callback failures", () => {
  it("shows a cancelled login (access_denied) in <Callback>, with the IdP's description as text", async () => {
    const url = await loginAtIdp(await startLoginAt("/account"), { deny: true });
    expect(new URL(url).searchParams.get("error")).toBe("access_denied");
    await freshPage(url);
    const { client, opened } = makeClient();
    renderApp(client, <App />);
    const alert = await screen.findByRole("alert");
    expect(alert.getAttribute("data-react-sso-error")).toBe("access_denied");
    expect(alert.textContent).toContain("Sign-in was cancelled");
    expect(alert.textContent).toContain("End-User aborted interaction");
    expect(client.getSnapshot()).toMatchObject({ status: "error", error: { code: "access_denied" } });
    expect(opened).toEqual([]);
    expect((await getStats(issuer())).token.total).toBe(0);
    // Retry is one click away, and starts exactly one new login.
    screen.getByRole("button", { name: "Try again" }).click();
    await waitFor(() => expect(opened).toHaveLength(1));
  });

  it("renders an IdP error_description as text, never as HTML", async () => {
    const url = new URL(await callbackUrl());
    url.searchParams.delete("code");
    url.searchParams.set("error", "access_denied");
    url.searchParams.set("error_description", '<img src=x onerror="window.pwned=1">');
    await freshPage(url.href);
    const { client } = makeClient();
    renderApp(client, <App />);
    const alert = await screen.findByRole("alert");
    expect(alert.querySelector("img")).toBeNull();
    expect(alert.textContent).toContain('<img src=x onerror="window.pwned=1">');
  });

  it("refuses a tampered state with state_mismatch and sends no token request", async () => {
    const error = await callbackError(withParam(await callbackUrl(), "state", "forged-state"));
    expect(error.code).toBe("state_mismatch");
    expect((await getStats(issuer())).token.total).toBe(0);
  });

  it("checks the state of error responses too", async () => {
    const url = withParam(withParam(withParam(await callbackUrl(), "code", null), "error", "access_denied"), "state", "forged");
    expect((await callbackError(url)).code).toBe("state_mismatch");
  });

  it("refuses a missing state", async () => {
    expect((await callbackError(withParam(await callbackUrl(), "state", null))).code).toBe("state_mismatch");
  });

  it("refuses a replayed callback URL with callback_replayed, without a second exchange", async () => {
    const url = await callbackUrl();
    await freshPage(url);
    await makeClient().client.handleCallback();
    const error = await callbackError(url);
    expect(error.code).toBe("callback_replayed");
    expect((await getStats(issuer())).token.authorization_code).toBe(1);
  });

  it("refuses a wrong iss with issuer_mismatch (RFC 9207), and a missing one when the IdP promises it", async () => {
    expect((await callbackError(withParam(await callbackUrl(), "iss", "https://evil.example"))).code).toBe("issuer_mismatch");
    expect((await callbackError(withParam(await callbackUrl(), "iss", null))).code).toBe("issuer_mismatch");
    expect((await getStats(issuer())).token.total).toBe(0);
  });

  it("refuses duplicated parameters and implicit-flow artefacts", async () => {
    const url = await callbackUrl();
    expect((await callbackError(`${url}&code=other`)).code).toBe("invalid_callback");
    expect((await callbackError(`${await callbackUrl()}#access_token=injected`)).code).toBe("invalid_callback");
    expect((await callbackError(`${await callbackUrl()}&id_token=injected`)).code).toBe("invalid_callback");
    expect((await getStats(issuer())).token.total).toBe(0);
  });

  it("reports an unreachable IdP as a network error with status 'error', without throwing into React", async () => {
    await freshPage("/account");
    const { client, opened } = makeClient({ authority: "http://127.0.0.1:9" });
    renderApp(client, <App />);
    const alert = await screen.findByRole("alert");
    expect(alert.getAttribute("data-react-sso-error")).toBe("network");
    expect(client.getSnapshot().status).toBe("error");
    expect(opened).toEqual([]);
  });

  it("reports an unreachable token endpoint during the callback as a network error", async () => {
    const url = await callbackUrl();
    await freshPage(url);
    const { client } = makeClient({ tokenProxy: "http://127.0.0.1:9/auth/token" });
    renderApp(client, <App />);
    const alert = await screen.findByRole("alert");
    expect(alert.getAttribute("data-react-sso-error")).toBe("network");
    expect(client.getSnapshot()).toMatchObject({ status: "error", error: { code: "network" } });
  });

  it("fails closed with a config error when the discovery document names another issuer", async () => {
    await freshPage("/");
    const { client } = makeClient({ authority: issuer().replace("127.0.0.1", "localhost") });
    const error = await client.login().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe("config");
    expect((error as AuthError).message).toContain("authority");
  });
});
