// `npm run bench`: wall-clock costs of the hot paths, each next to a baseline measured in the same
// run, so the ratios (not the absolute numbers of this machine) are what to compare.
import { bench, describe } from "vitest";
import { createAuthClient } from "react-sso-kit/core";
import { sanitizeReturnTo } from "../../src/core/sanitizeReturnTo.js";
import { deriveKey, open, seal } from "../../src/server/sealedCookie.js";
import { createTokenProxy } from "react-sso-kit/server";

const TOKEN = "an-access-token-of-typical-length-0123456789abcdef";

function signedInClient() {
  const key = "react-sso.session:https://sso.example.com:bench";
  sessionStorage.setItem(
    key,
    JSON.stringify({ accessToken: TOKEN, expiresAt: Date.now() + 3_600_000, refreshToken: "rt", scopes: ["openid"], claims: { sub: "ada" }, sub: "ada" }),
  );
  const client = createAuthClient({
    authority: "https://sso.example.com",
    clientId: "bench",
    redirectUri: "http://localhost:3000/callback",
    fetch: () => Promise.reject(new Error("the benchmark makes no request")),
  });
  client.getSnapshot();
  return client;
}

describe("getAccessToken() with a valid cached token (called before every API request)", () => {
  const client = signedInClient();
  bench("baseline: an async function returning a string", async () => {
    await (async () => TOKEN)();
  });
  bench("getAccessToken()", async () => {
    await client.getAccessToken();
  });
});

describe("the token proxy refusing a foreign origin (no IdP request)", () => {
  const proxy = createTokenProxy({
    tokenEndpoint: "https://sso.example.com/token",
    clientId: "bench",
    allowedOrigins: ["https://app.example.com"],
    redirectUris: ["https://app.example.com/callback"],
    cookie: { secrets: ["a-cookie-secret-of-at-least-32-characters"] },
    fetch: () => Promise.reject(new Error("the benchmark makes no request")),
  });
  const request = () =>
    new Request("https://app.example.com/auth/token", { method: "POST", headers: { Origin: "https://evil.example" }, body: "grant_type=refresh_token" });
  bench("baseline: build the request and a JSON 403 response", async () => {
    request();
    await new Response(JSON.stringify({ error: "access_denied" }), { status: 403 }).text();
  });
  bench("proxy(request)", async () => {
    await (await proxy(request())).text();
  });
});

describe("sealing and opening the refresh-token cookie (once per refresh)", async () => {
  const key = await deriveKey("a-cookie-secret-of-at-least-32-characters");
  const sealed = await seal("a-refresh-token-of-typical-length-0123456789", key, "bench", 3600);
  bench("baseline: JSON round trip of the same payload", () => {
    JSON.parse(JSON.stringify({ rt: "a-refresh-token-of-typical-length-0123456789", aud: "bench" }));
  });
  bench("seal (A256GCM JWE)", async () => {
    await seal("a-refresh-token-of-typical-length-0123456789", key, "bench", 3600);
  });
  bench("open", async () => {
    await open(sealed, [key], "bench");
  });
});

describe("sanitizeReturnTo (once per login)", () => {
  const origin = "https://app.example.com";
  bench("baseline: new URL(path, origin)", () => {
    void new URL("/orders/42?tab=items#top", origin).pathname;
  });
  bench("sanitizeReturnTo(path)", () => {
    sanitizeReturnTo("/orders/42?tab=items#top", origin);
  });
});
