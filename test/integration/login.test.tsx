import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { getStats, loginAtIdp, PUBLIC_CLIENT_ID } from "../support/idpControl.js";
import { completeAtIdp, freshPage, issuer, makeClient, resetWorld, screen, signedInName, startLoginAt, waitFor } from "./helpers.js";

beforeEach(resetWorld);
afterEach(resetWorld);

describe("login against the real IdP", () => {
  it("signs in with code + PKCE S256, returns to the guarded page with the user's claims", async () => {
    const authUrl = await startLoginAt("/account?tab=orders#top");
    const url = new URL(authUrl);
    expect(url.origin).toBe(issuer());
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get("state")).toBeTruthy();
    expect(url.searchParams.get("nonce")).toBeTruthy();
    expect(url.searchParams.get("client_id")).toBe(PUBLIC_CLIENT_ID);

    await completeAtIdp(authUrl);
    expect(await signedInName()).toBe("User ada");
    expect(screen.getByTestId("sub").textContent).toBe("ada");
    // Back where the user was, and no code or state left in the address bar.
    expect(window.location.pathname + window.location.search + window.location.hash).toBe("/account?tab=orders#top");
    // StrictMode mounted <Callback> twice: still one code exchange.
    expect((await getStats(issuer())).token.authorization_code).toBe(1);
  });

  it("exchanges the code once when handleCallback is called concurrently and again after success", async () => {
    const authUrl = await startLoginAt("/account");
    const callbackUrl = await loginAtIdp(authUrl);
    await freshPage(callbackUrl);
    const { client } = makeClient();
    const results = await Promise.all([client.handleCallback(), client.handleCallback(), client.handleCallback(callbackUrl)]);
    expect(results).toEqual(["/account", "/account", "/account"]);
    expect(await client.handleCallback(callbackUrl)).toBe("/account");
    expect((await getStats(issuer())).token.authorization_code).toBe(1);
    expect(client.getSnapshot().status).toBe("authenticated");
  });

  it("keeps the status 'loading' on the callback page until the exchange settles, so no guard logs in again", async () => {
    const authUrl = await startLoginAt("/account");
    const callbackUrl = await loginAtIdp(authUrl);
    await freshPage(callbackUrl);
    const { client, opened } = makeClient();
    const seen: string[] = [];
    client.subscribe(() => seen.push(client.getSnapshot().status));
    expect(client.getSnapshot().status).toBe("loading");
    await client.handleCallback();
    expect(seen).toEqual(["authenticated"]);
    expect(opened).toEqual([]);
  });

  it("completes two logins started in two tabs, whichever returns first", async () => {
    const first = await startLoginAt("/first");
    const second = await startLoginAt("/second");
    const secondCallback = await loginAtIdp(second, { username: "bob" });
    const firstCallback = await loginAtIdp(first, { username: "ada" });

    await freshPage(secondCallback);
    expect(await makeClient().client.handleCallback()).toBe("/second");
    await freshPage(firstCallback);
    const { client } = makeClient();
    expect(await client.handleCallback()).toBe("/first");
    expect(client.getSnapshot().user?.sub).toBe("ada");
    expect((await getStats(issuer())).token.authorization_code).toBe(2);
  });

  it("returns only to same-origin paths, whatever login() was given", async () => {
    for (const returnTo of ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"]) {
      await freshPage("/");
      const { client, opened } = makeClient();
      await client.login({ returnTo });
      const callbackUrl = await loginAtIdp(opened[0] as string);
      await freshPage(callbackUrl);
      expect(await makeClient().client.handleCallback()).toBe("/");
    }
  });

  it("supports response_mode=fragment, keeping the code out of the query", async () => {
    const authUrl = await startLoginAt("/account", { responseMode: "fragment" });
    expect(new URL(authUrl).searchParams.get("response_mode")).toBe("fragment");
    const callbackUrl = await loginAtIdp(authUrl);
    expect(new URL(callbackUrl).hash).toContain("code=");
    await freshPage(callbackUrl);
    const { client } = makeClient({ responseMode: "fragment" });
    expect(client.getSnapshot().status).toBe("loading");
    expect(await client.handleCallback()).toBe("/account");
    expect(window.location.hash).toBe("");
  });

  it("gives a working access token that the IdP accepts", async () => {
    const authUrl = await startLoginAt("/account");
    const { client } = await completeAtIdp(authUrl);
    await waitFor(() => expect(client.getSnapshot().status).toBe("authenticated"));
    const token = await client.getAccessToken();
    const me = await fetch(new URL("/me", issuer()).href, { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { sub: string }).sub).toBe("ada");
  });
});
