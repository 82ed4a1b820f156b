import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuthError } from "../../src/react/index.js";
import { getStats, PUBLIC_CLIENT_ID } from "../support/idpControl.js";
import { completeAtIdp, issuer, makeClient, resetWorld, screen, signedInName, startLoginAt, waitFor } from "./helpers.js";

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
});
