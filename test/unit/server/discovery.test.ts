// @vitest-environment node
// Which discovery URLs are asked, in which order, and what each answer means: a counting fetch
// plays the server (the integration tests read real oidc-provider metadata).
import { describe, expect, it } from "vitest";
import { AuthError } from "../../../src/shared/AuthError.js";
import { cachedDiscovery, discover } from "../../../src/server/discovery.js";
import { createIdpHttp } from "../../../src/server/idpHttp.js";

function server(routes: Record<string, () => Response>) {
  const asked: string[] = [];
  const http = createIdpHttp(async (input) => {
    const url = String(input);
    asked.push(url);
    const route = routes[url];
    if (!route) return new Response("not found", { status: 404 });
    return route();
  }, 1000, undefined);
  return { http, asked };
}

const doc = (issuer: string, extra: Record<string, unknown> = {}) => () => Response.json({ issuer, token_endpoint: `${issuer}/token`, ...extra });

describe("discover", () => {
  it("reads OpenID Connect Discovery first", async () => {
    const { http, asked } = server({ "https://sso.example.com/.well-known/openid-configuration": doc("https://sso.example.com") });
    await expect(discover("https://sso.example.com", http)).resolves.toMatchObject({ token_endpoint: "https://sso.example.com/token" });
    expect(asked).toEqual(["https://sso.example.com/.well-known/openid-configuration"]);
  });

  it("falls back to RFC 8414, with the path-insertion form for an issuer with a path", async () => {
    const issuer = "https://sso.example.com/tenant-a";
    const { http, asked } = server({ "https://sso.example.com/.well-known/oauth-authorization-server/tenant-a": doc(issuer) });
    await expect(discover(issuer, http)).resolves.toMatchObject({ issuer });
    expect(asked).toEqual([
      "https://sso.example.com/tenant-a/.well-known/openid-configuration",
      "https://sso.example.com/.well-known/oauth-authorization-server/tenant-a",
    ]);
  });

  it("without either document, is a config error with the status", async () => {
    const { http } = server({});
    const err = await discover("https://sso.example.com", http).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "config", status: 404, transient: false, message: expect.stringContaining("no discovery document") });
  });

  it.each([408, 429])("a %i is transient too, and does not try the other path", async (status) => {
    const { http, asked } = server({ "https://sso.example.com/.well-known/openid-configuration": () => new Response("slow down", { status, headers: { "retry-after": "7" } }) });
    await expect(discover("https://sso.example.com", http)).rejects.toMatchObject({ status, transient: true, retryAfter: 7 });
    expect(asked).toHaveLength(1);
  });

  it("a redirect whose Location does not parse is not followed, and the failure names each answer", async () => {
    const { http } = server({ "https://sso.example.com/.well-known/openid-configuration": () => new Response(null, { status: 302, headers: { location: "http://[::1" } }) });
    await expect(discover("https://sso.example.com", http)).rejects.toMatchObject({
      code: "config",
      message: expect.stringContaining("HTTP 302 at https://sso.example.com/.well-known/openid-configuration, HTTP 404 at https://sso.example.com/.well-known/oauth-authorization-server"),
    });
  });

  it("a 5xx is transient and does not try the other path", async () => {
    const { http, asked } = server({ "https://sso.example.com/.well-known/openid-configuration": () => new Response("busy", { status: 503 }) });
    await expect(discover("https://sso.example.com", http)).rejects.toMatchObject({ status: 503, transient: true });
    expect(asked).toHaveLength(1);
  });

  it.each(["https://sso.example.com/", "https://SSO.example.com", "https://sso.example.com:443", "https://evil.example.com"])(
    "refuses a document whose issuer is %j, not the configured string",
    async (stated) => {
      const { http } = server({ "https://sso.example.com/.well-known/openid-configuration": doc(stated) });
      await expect(discover("https://sso.example.com", http)).rejects.toMatchObject({ code: "config", message: expect.stringContaining("names the issuer") });
    },
  );

  it.each(["token_endpoint", "revocation_endpoint", "introspection_endpoint", "jwks_uri", "authorization_endpoint"])("refuses a plain-http %s", async (field) => {
    const { http } = server({ "https://sso.example.com/.well-known/openid-configuration": doc("https://sso.example.com", { [field]: "http://sso.example.com/x" }) });
    await expect(discover("https://sso.example.com", http)).rejects.toMatchObject({ code: "config", message: expect.stringContaining(field) });
  });

  it("follows a redirect on the issuer's origin (Django OAuth Toolkit adds a trailing slash), and none to another origin", async () => {
    const moved = (to: string) => () => new Response(null, { status: 301, headers: { location: to } });
    const django = server({
      "https://sso.example.com/o/.well-known/openid-configuration": moved("/o/.well-known/openid-configuration/"),
      "https://sso.example.com/o/.well-known/openid-configuration/": doc("https://sso.example.com/o"),
    });
    await expect(discover("https://sso.example.com/o", django.http)).resolves.toMatchObject({ issuer: "https://sso.example.com/o" });
    const away = server({ "https://sso.example.com/.well-known/openid-configuration": moved("https://evil.example.com/.well-known/openid-configuration") });
    await expect(discover("https://sso.example.com", away.http)).rejects.toMatchObject({ code: "config", message: expect.stringContaining("HTTP 404") });
    expect(away.asked).not.toContain("https://evil.example.com/.well-known/openid-configuration");
  });

  it("accepts Entra's multi-tenant issuer template only when asked to, and hints at the option otherwise", async () => {
    const common = "https://login.microsoftonline.com/common/v2.0";
    const template = "https://login.microsoftonline.com/{tenantid}/v2.0";
    const { http } = server({ [`${common}/.well-known/openid-configuration`]: () => Response.json({ issuer: template, token_endpoint: "https://login.microsoftonline.com/common/oauth2/v2.0/token" }) });
    await expect(discover(common, http)).rejects.toMatchObject({ code: "config", message: expect.stringContaining('set "entraMultiTenant"') });
    await expect(discover(common, http, { entraMultiTenant: true })).resolves.toMatchObject({ issuer: template });
  });

  it("accepts plain http on loopback hosts", async () => {
    const { http } = server({ "http://127.0.0.1:4000/.well-known/openid-configuration": doc("http://127.0.0.1:4000") });
    await expect(discover("http://127.0.0.1:4000", http)).resolves.toMatchObject({ token_endpoint: "http://127.0.0.1:4000/token" });
  });
});

describe("cachedDiscovery", () => {
  it("keeps an answer, and forgets a failure so the next call asks again", async () => {
    let up = false;
    const { http, asked } = server({
      "https://sso.example.com/.well-known/openid-configuration": () => (up ? doc("https://sso.example.com")() : new Response("", { status: 502 })),
    });
    const get = cachedDiscovery("https://sso.example.com", http);
    await expect(get()).rejects.toBeInstanceOf(AuthError);
    up = true;
    await expect(get()).resolves.toMatchObject({ issuer: "https://sso.example.com" });
    await get();
    expect(asked).toHaveLength(2);
  });

  it("concurrent callers share one request", async () => {
    const { http, asked } = server({ "https://sso.example.com/.well-known/openid-configuration": doc("https://sso.example.com") });
    const get = cachedDiscovery("https://sso.example.com", http);
    await Promise.all([get(), get(), get()]);
    expect(asked).toHaveLength(1);
  });
});
