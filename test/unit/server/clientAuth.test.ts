// @vitest-environment node
import * as oauth from "oauth4webapi";
import { describe, expect, it } from "vitest";
import { basicAuthorization, chooseClientAuthMethod, clientAuthentication, clientSecretBasic, encodeBasicCredential } from "../../../src/server/clientAuth.js";

const decoded = (header: string | null) => atob((header ?? "").replace(/^Basic /, ""));

describe("encodeBasicCredential", () => {
  it.each([
    ["my-app", "my-app"],
    ["spa-confidential.app", "spa-confidential.app"],
    ["under_score~tilde", "under_score~tilde"],
    ["AZaz09", "AZaz09"],
    ["a+b", "a%2Bb"],
    ["a%b", "a%25b"],
    ["a:b", "a%3Ab"],
    ["a b", "a%20b"],
    ["é", "%C3%A9"],
    ["a/b?c#d&e=f", "a%2Fb%3Fc%23d%26e%3Df"],
    // encodeURIComponent leaves these alone, but they are not unreserved.
    ["!'()*", "%21%27%28%29%2A"],
    ["😀", "%F0%9F%98%80"],
  ])("%j → %j", (input, expected) => {
    expect(encodeBasicCredential(input)).toBe(expected);
    // Whatever was encoded decodes back: servers that do decode read the same value.
    expect(decodeURIComponent(expected)).toBe(input);
  });

  it("refuses text that is not Unicode (a lone surrogate)", () => {
    expect(() => encodeBasicCredential("\uD800")).toThrow(URIError);
    expect(() => clientSecretBasic("\uD800")).toThrow(URIError);
  });
});

describe("client_secret_basic", () => {
  it("builds the header from the encoded ID and secret", () => {
    expect(basicAuthorization("my-app", "s3cr3t")).toBe(`Basic ${btoa("my-app:s3cr3t")}`);
    expect(decoded(basicAuthorization("spa-confidential.app", "s3cr3t-with.dots"))).toBe("spa-confidential.app:s3cr3t-with.dots");
    expect(decoded(basicAuthorization("a:b", "p+q%r s"))).toBe("a%3Ab:p%2Bq%25r%20s");
  });

  it("as an oauth4webapi ClientAuth, sets only the Authorization header; oauth4webapi's own would send %2D and %2E", async () => {
    const as = { issuer: "https://sso.example.com" };
    const client = { client_id: "spa-confidential.app" };
    const ours = { body: new URLSearchParams(), headers: new Headers() };
    await clientSecretBasic("s3cr3t-with.dots")(as, client, ours.body, ours.headers);
    expect(decoded(ours.headers.get("authorization"))).toBe("spa-confidential.app:s3cr3t-with.dots");
    expect([...ours.body]).toEqual([]);

    const theirs = { body: new URLSearchParams(), headers: new Headers() };
    await oauth.ClientSecretBasic("s3cr3t-with.dots")(as, client, theirs.body, theirs.headers);
    expect(decoded(theirs.headers.get("authorization"))).toBe("spa%2Dconfidential%2Eapp:s3cr3t%2Dwith%2Edots");
  });
});

describe("clientAuthentication", () => {
  const run = async (auth: oauth.ClientAuth) => {
    const body = new URLSearchParams();
    const headers = new Headers();
    await auth({ issuer: "https://sso.example.com" }, { client_id: "my-app" }, body, headers);
    return { body: Object.fromEntries(body), authorization: headers.get("authorization") };
  };

  it("client_secret_post puts both in the body", async () => {
    expect(await run(clientAuthentication("client_secret_post", "a+b"))).toEqual({ body: { client_id: "my-app", client_secret: "a+b" }, authorization: null });
  });

  it("none (or no secret) sends the client_id only", async () => {
    expect(await run(clientAuthentication("none", "ignored"))).toEqual({ body: { client_id: "my-app" }, authorization: null });
    expect(await run(clientAuthentication("client_secret_basic", undefined))).toEqual({ body: { client_id: "my-app" }, authorization: null });
  });

  it("client_secret_basic uses the header only", async () => {
    expect(await run(clientAuthentication("client_secret_basic", "x"))).toEqual({ body: {}, authorization: `Basic ${btoa("my-app:x")}` });
  });
});

describe("chooseClientAuthMethod", () => {
  it.each([
    [undefined, "client_secret_basic"],
    [[], "client_secret_basic"],
    [["client_secret_basic"], "client_secret_basic"],
    [["client_secret_basic", "client_secret_post"], "client_secret_basic"],
    [["client_secret_post", "client_secret_basic"], "client_secret_basic"],
    [["client_secret_post"], "client_secret_post"],
    [["client_secret_post", "private_key_jwt"], "client_secret_post"],
    [["private_key_jwt"], "client_secret_basic"],
    ["client_secret_post", "client_secret_basic"],
  ])("discovery listing %j → %s", (listed, expected) => {
    expect(chooseClientAuthMethod(listed, true)).toBe(expected);
  });

  it("a configured method wins; without a secret it is none", () => {
    expect(chooseClientAuthMethod(["client_secret_basic"], true, "client_secret_post")).toBe("client_secret_post");
    expect(chooseClientAuthMethod(["client_secret_post"], true, "client_secret_basic")).toBe("client_secret_basic");
    expect(chooseClientAuthMethod(["client_secret_post"], false, "client_secret_post")).toBe("none");
  });
});
