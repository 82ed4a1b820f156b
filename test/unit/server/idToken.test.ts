// @vitest-environment node
// What authorizationCode does with an ID token that oauth4webapi's claim checks pass but that
// must still be refused: a signature from a key the IdP does not list, HMAC with the public key,
// another client's azp, or no issuer to check against. The token endpoint and JWKS are a stub
// fetch: these tokens cannot be obtained from a real IdP.
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createOAuthClient } from "../../../src/server/createOAuthClient.js";

const ISSUER = "https://sso.example.com";
const CLIENT = "web-app";
let keys: Awaited<ReturnType<typeof generateKeyPair>>;
let other: Awaited<ReturnType<typeof generateKeyPair>>;
let jwk: JWK;

beforeAll(async () => {
  keys = await generateKeyPair("RS256", { extractable: true });
  other = await generateKeyPair("RS256");
  jwk = { ...(await exportJWK(keys.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
});

const idToken = (claims: Record<string, unknown> = {}, key: CryptoKey | Uint8Array = keys.privateKey, alg = "RS256") =>
  new SignJWT({ sub: "ada", ...claims }).setProtectedHeader({ alg, kid: "k1" }).setIssuer(ISSUER).setAudience(CLIENT).setIssuedAt().setExpirationTime("5m").sign(key);

function exchange(token: string, options: { issuer?: string | undefined } = { issuer: ISSUER }) {
  const asked: string[] = [];
  const oauth = createOAuthClient({
    ...options,
    tokenEndpoint: `${ISSUER}/token`,
    jwksUri: `${ISSUER}/jwks`,
    clientId: CLIENT,
    clientSecret: "web-secret",
    fetch: async (input) => {
      asked.push(String(input));
      return String(input).endsWith("/jwks") ? Response.json({ keys: [jwk] }) : Response.json({ access_token: "at", token_type: "Bearer", expires_in: 60, id_token: token });
    },
  });
  const result = oauth.authorizationCode({ code: "c", redirectUri: "https://app.example.com/cb", codeVerifier: "v".repeat(43) });
  return { result, asked };
}

describe("the ID token of authorizationCode", () => {
  it("is accepted when the IdP's key signed it", async () => {
    const { result, asked } = exchange(await idToken());
    await expect(result).resolves.toMatchObject({ accessToken: "at", idToken: expect.any(String) });
    expect(asked).toEqual([`${ISSUER}/token`, `${ISSUER}/jwks`]);
  });

  it("is refused when another key signed it", async () => {
    await expect(exchange(await idToken({}, other.privateKey)).result).rejects.toMatchObject({ code: "invalid_id_token", message: expect.stringContaining("signature") });
  });

  it("is refused when it names another client as azp", async () => {
    await expect(exchange(await idToken({ azp: "someone-else" })).result).rejects.toMatchObject({ code: "invalid_id_token", message: expect.stringContaining("azp") });
  });

  it("is refused when signed HS256 with the IdP's public key", async () => {
    const secret = new TextEncoder().encode(await exportSPKI(keys.publicKey));
    await expect(exchange(await idToken({}, secret, "HS256")).result).rejects.toMatchObject({ code: expect.stringMatching(/invalid_id_token|invalid_response/) });
  });

  it("is refused without an issuer to check it against, and the tokens are not returned", async () => {
    await expect(exchange(await idToken(), { issuer: undefined }).result).rejects.toMatchObject({ code: "invalid_id_token", message: expect.stringContaining('set "issuer"') });
  });
});
