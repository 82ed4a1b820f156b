// Issue 8: client authentication that every IdP accepts. RFC 6749 §2.3.1 form-encodes the client ID
// and secret before HTTP Basic; many servers compare the raw `id:secret` instead, so the proxy must
// leave the unreserved characters (A–Z a–z 0–9 - . _ ~) as they are and percent-encode the rest.
import { describe, expect, it } from "vitest";
import { CONFIDENTIAL, rawBasic, rawBasicServer, standard, type StubClient } from "../support/stubProviders.js";
import { signIn, success, useStubServers } from "./providerFlows.js";

const { provider, proxy } = useStubServers();

describe("a server that does not URL-decode Basic credentials: the proxy sends unreserved characters as they are", () => {
  const CLIENT: StubClient = { id: "spa-confidential.v2_web~app", secret: "s3cret-with.dots_and~tildes", postLogoutRedirectUris: CONFIDENTIAL.postLogoutRedirectUris };

  it("a client ID and secret with - . _ ~ sign in through the proxy, and the server receives them exactly as registered", async () => {
    const idp = await provider(rawBasicServer({ clients: [CLIENT] }));
    const backend = await proxy({ issuer: idp.issuer, clientId: CLIENT.id, clientSecret: CLIENT.secret });
    const config = { authority: idp.issuer, clientId: CLIENT.id, tokenProxy: backend.url, scope: "openid profile offline_access" };

    const { client, outcome } = await signIn(idp, config);

    const [exchange] = idp.grants("authorization_code");
    expect(exchange && rawBasic(exchange)).toBe(`${CLIENT.id}:${CLIENT.secret ?? ""}`);
    success(outcome);
    expect(client.getSnapshot().status).toBe("authenticated");
  });

  it("the refresh and the revocation at logout authenticate the same way", async () => {
    const idp = await provider(rawBasicServer({ clients: [CLIENT] }));
    const backend = await proxy({ issuer: idp.issuer, clientId: CLIENT.id, clientSecret: CLIENT.secret });
    const config = { authority: idp.issuer, clientId: CLIENT.id, tokenProxy: backend.url, scope: "openid offline_access" };
    const { client, outcome } = await signIn(idp, config);
    success(outcome);

    await client.getAccessToken({ forceRefresh: true });
    await client.logout();

    const [refresh] = idp.grants("refresh_token");
    const [revocation] = idp.calls("revocation");
    expect(refresh && rawBasic(refresh)).toBe(`${CLIENT.id}:${CLIENT.secret ?? ""}`);
    expect(revocation && rawBasic(revocation)).toBe(`${CLIENT.id}:${CLIENT.secret ?? ""}`);
    expect(revocation?.reply?.status).toBe(200);
    expect(idp.isLive(idp.issued.refresh.at(-1) ?? "")).toBe(false);
  });
});

describe("a server that URL-decodes Basic credentials (RFC 6749 §2.3.1)", () => {
  it("a secret with + % : reaches it percent-encoded (a raw + would read as a space), and the sign-in succeeds", async () => {
    const client: StubClient = { id: "webapp", secret: "S3cret+plus%pct:colon" };
    const idp = await provider(standard({ clients: [client], post: false }));
    const backend = await proxy({ issuer: idp.issuer, clientId: client.id, clientSecret: client.secret });
    const config = { authority: idp.issuer, clientId: client.id, tokenProxy: backend.url, scope: "openid" };

    const { outcome } = await signIn(idp, config);

    success(outcome);
    const [exchange] = idp.grants("authorization_code");
    expect(exchange && rawBasic(exchange)).toBe("webapp:S3cret%2Bplus%25pct%3Acolon");
  });
});
