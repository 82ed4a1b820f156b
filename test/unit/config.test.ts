import { describe, expect, it } from "vitest";
import { AuthError } from "../../src/shared/AuthError.js";
import { resolveConfig, type AuthConfig } from "../../src/core/config.js";
import { createAuthClient } from "../../src/core/createAuthClient.js";

const VALID = {
  authority: "https://sso.example.com",
  clientId: "spa",
  redirectUri: "http://localhost:3000/callback",
} as const;

/** The valid config with some fields replaced (or removed, with `undefined`), unchecked on purpose. */
function withFields(fields: Record<string, unknown>): AuthConfig {
  const config: Record<string, unknown> = { ...VALID, ...fields };
  for (const [key, value] of Object.entries(fields)) if (value === undefined) delete config[key];
  return config as unknown as AuthConfig;
}

/** Runs `fn`, which must throw an AuthError with code "config", and returns that error. */
function configError(fn: () => unknown): AuthError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, "expected a config error").toBeInstanceOf(AuthError);
  const error = thrown as AuthError;
  expect(error.code).toBe("config");
  return error;
}

const storage = { getItem: () => null, setItem: () => undefined, removeItem: () => undefined };

/** [what is wrong, fields that make it wrong, the field the message must name] */
const FAILURES: [string, Record<string, unknown>, string][] = [
  ["authority missing", { authority: undefined }, "authority"],
  ["authority empty", { authority: "" }, "authority"],
  ["authority not a URL", { authority: "sso.example.com" }, "authority"],
  ["authority not a string", { authority: 42 }, "authority"],
  ["authority over http on a public host", { authority: "http://sso.example.com" }, "authority"],
  ["authority with a fragment", { authority: "https://sso.example.com/#x" }, "authority"],
  ["authority with a custom scheme", { authority: "myapp://sso" }, "authority"],
  ["clientId missing", { clientId: undefined }, "clientId"],
  ["clientId blank", { clientId: "   " }, "clientId"],
  ["clientId not a string", { clientId: 7 }, "clientId"],
  ["redirectUri missing", { redirectUri: undefined }, "redirectUri"],
  ["redirectUri relative", { redirectUri: "/callback" }, "redirectUri"],
  ["redirectUri over http on a public host", { redirectUri: "http://app.example.com/callback" }, "redirectUri"],
  ["redirectUri with a fragment", { redirectUri: "https://app.example.com/callback#done" }, "redirectUri"],
  ["postLogoutRedirectUri not a URL", { postLogoutRedirectUri: "/bye" }, "postLogoutRedirectUri"],
  ["scope empty string", { scope: "" }, "scope"],
  ["scope only spaces", { scope: "   " }, "scope"],
  ["scope empty array", { scope: [] }, "scope"],
  ["scope array with a non-string", { scope: ["openid", 1] }, "scope"],
  ["scope not a string or array", { scope: 5 }, "scope"],
  ["scope with a double quote (RFC 6749 §3.3)", { scope: 'openid "x"' }, "scope"],
  ["scope with a backslash (RFC 6749 §3.3)", { scope: "openid a\\b" }, "scope"],
  ["scope with a non-ASCII character", { scope: "openid profilé" }, "scope"],
  ["scope with a tab", { scope: "openid\tprofile" }, "scope"],
  ["tokenProxy protocol-relative", { tokenProxy: "//evil/x" }, "tokenProxy"],
  ["tokenProxy backslash path", { tokenProxy: "/\\evil/x" }, "tokenProxy"],
  ["tokenProxy relative without a slash", { tokenProxy: "auth/token" }, "tokenProxy"],
  ["tokenProxy over http on a public host", { tokenProxy: "http://api.example.com/token" }, "tokenProxy"],
  ["tokenProxy empty", { tokenProxy: "" }, "tokenProxy"],
  ["endpoints not an object", { endpoints: "https://sso.example.com/authorize" }, "endpoints"],
  ["endpoints null", { endpoints: null }, "endpoints"],
  ["endpoints with an unknown key", { endpoints: { authorization: "https://sso.example.com/a", token: "https://sso.example.com/t", jwks: "x" } }, "endpoints.jwks"],
  ["endpoints without token and no tokenProxy", { endpoints: { authorization: "https://sso.example.com/a" } }, "endpoints.token"],
  ["endpoints.authorization missing", { endpoints: { token: "https://sso.example.com/t" } }, "endpoints.authorization"],
  ["endpoints.endSession not https", { endpoints: { authorization: "https://sso.example.com/a", token: "https://sso.example.com/t", endSession: "http://sso.example.com/logout" } }, "endpoints.endSession"],
  ["storage unknown name", { storage: "cookie" }, "storage"],
  ["storage object without removeItem", { storage: { getItem: () => null, setItem: () => undefined } }, "storage"],
  ["responseMode form_post", { responseMode: "form_post" }, "responseMode"],
  ["timeoutMs zero", { timeoutMs: 0 }, "timeoutMs"],
  ["timeoutMs negative", { timeoutMs: -5 }, "timeoutMs"],
  ["timeoutMs NaN", { timeoutMs: Number.NaN }, "timeoutMs"],
  ["timeoutMs a string", { timeoutMs: "100" }, "timeoutMs"],
  ["fetch not a function", { fetch: "fetch" }, "fetch"],
  ["openUrl not a function", { openUrl: {} }, "openUrl"],
  ["extraAuthorizeParams an array", { extraAuthorizeParams: ["prompt"] }, "extraAuthorizeParams"],
  ["extraAuthorizeParams.state (reserved)", { extraAuthorizeParams: { state: "x" } }, "extraAuthorizeParams.state"],
  ["extraAuthorizeParams.nonce (reserved)", { extraAuthorizeParams: { nonce: "x" } }, "extraAuthorizeParams.nonce"],
  ["extraAuthorizeParams.code_challenge (reserved)", { extraAuthorizeParams: { code_challenge: "x" } }, "extraAuthorizeParams.code_challenge"],
  ["extraAuthorizeParams.code_challenge_method (reserved)", { extraAuthorizeParams: { code_challenge_method: "plain" } }, "extraAuthorizeParams.code_challenge_method"],
  ["extraAuthorizeParams.redirect_uri (reserved)", { extraAuthorizeParams: { redirect_uri: "https://evil.example" } }, "extraAuthorizeParams.redirect_uri"],
  ["extraAuthorizeParams.client_id (reserved)", { extraAuthorizeParams: { client_id: "other" } }, "extraAuthorizeParams.client_id"],
  ["extraAuthorizeParams.response_type (reserved)", { extraAuthorizeParams: { response_type: "token" } }, "extraAuthorizeParams.response_type"],
  ["extraAuthorizeParams with a number value", { extraAuthorizeParams: { max_age: 0 } }, "extraAuthorizeParams.max_age"],
  ["extraAuthorizeParams with a boolean value", { extraAuthorizeParams: { prompt: true } }, "extraAuthorizeParams.prompt"],
  ["extraLogoutParams.id_token_hint (react-sso sends it)", { extraLogoutParams: { id_token_hint: "x" } }, "extraLogoutParams.id_token_hint"],
  ["extraLogoutParams.post_logout_redirect_uri (postLogoutRedirectUri sets it)", { extraLogoutParams: { post_logout_redirect_uri: "https://evil.example" } }, "extraLogoutParams.post_logout_redirect_uri"],
  ["extraLogoutParams.client_id (reserved)", { extraLogoutParams: { client_id: "other" } }, "extraLogoutParams.client_id"],
  ["an unknown field", { audience: "api" }, "audience"],
];

describe.each([
  ["resolveConfig", resolveConfig],
  ["createAuthClient", createAuthClient],
] as const)("%s refuses a bad config with code config, naming the field", (_name, validate) => {
  it.each(FAILURES)("%s", (_what, fields, field) => {
    const error = configError(() => validate(withFields(fields)));
    expect(error.message).toContain(`"${field}"`);
  });
});

describe("resolveConfig accepts", () => {
  it.each([
    "http://localhost",
    "http://localhost:8080/realms/dev",
    "http://127.0.0.1:9000",
    "http://[::1]:9000",
    "https://sso.example.com/tenant/v2.0",
  ])("authority %s", (authority) => {
    expect(resolveConfig(withFields({ authority })).authority).toBe(authority);
  });

  it('tokenProxy as a same-origin path, "/auth/token"', () => {
    expect(resolveConfig(withFields({ tokenProxy: "/auth/token" })).tokenProxy).toBe("/auth/token");
  });

  it("tokenProxy as an absolute https URL", () => {
    expect(resolveConfig(withFields({ tokenProxy: "https://api.example.com/token" })).tokenProxy).toBe("https://api.example.com/token");
  });

  it("a native app's redirect scheme", () => {
    expect(resolveConfig(withFields({ redirectUri: "com.example.app:/callback" })).redirectUri).toBe("com.example.app:/callback");
  });

  it("endpoints without token when there is a tokenProxy", () => {
    const cfg = resolveConfig(withFields({ tokenProxy: "/auth/token", endpoints: { authorization: "https://sso.example.com/authorize" } }));
    expect(cfg.endpoints).toEqual({ authorization: "https://sso.example.com/authorize" });
  });

  it("every endpoint", () => {
    const endpoints = {
      authorization: "https://sso.example.com/authorize",
      token: "https://sso.example.com/token",
      endSession: "https://sso.example.com/logout",
      revocation: "https://sso.example.com/revoke",
    };
    expect(resolveConfig(withFields({ endpoints })).endpoints).toEqual(endpoints);
  });

  it.each(["memory", "session", "local"])("storage %s", (value) => {
    expect(resolveConfig(withFields({ storage: value })).storage).toBe(value);
  });

  it("a custom storage object", () => {
    expect(resolveConfig(withFields({ storage })).storage).toBe(storage);
  });

  it.each(["query", "fragment"])("responseMode %s", (responseMode) => {
    expect(resolveConfig(withFields({ responseMode })).responseMode).toBe(responseMode);
  });

  it("timeoutMs and the injected functions", () => {
    const fetch = (() => Promise.reject(new Error("unused"))) as typeof globalThis.fetch;
    const openUrl = () => undefined;
    const cfg = resolveConfig(withFields({ timeoutMs: 2500, fetch, openUrl }));
    expect(cfg).toMatchObject({ timeoutMs: 2500, fetch, openUrl });
  });

  it("extraAuthorizeParams of strings, as a frozen copy", () => {
    const params = { prompt: "login", audience: "api" };
    const cfg = resolveConfig(withFields({ extraAuthorizeParams: params }));
    expect(cfg.extraAuthorizeParams).toEqual(params);
    expect(cfg.extraAuthorizeParams).not.toBe(params);
    expect(Object.isFrozen(cfg.extraAuthorizeParams)).toBe(true);
  });

  it("extraLogoutParams with the end-session parameters that are the app's: state, ui_locales, Cognito's logout_uri", () => {
    const params = { state: "s1", ui_locales: "fr", logout_uri: "https://app.example.com/" };
    expect(resolveConfig(withFields({ extraLogoutParams: params })).extraLogoutParams).toEqual(params);
  });

  it("timeoutMs: Infinity is refused as config (AbortSignal.timeout cannot take it)", () => {
    const error = configError(() => resolveConfig(withFields({ timeoutMs: Number.POSITIVE_INFINITY })));
    expect(error.message).toContain('"timeoutMs"');
  });
});

describe("scope", () => {
  it("is read from a space-separated string", () => {
    expect(resolveConfig(withFields({ scope: "openid profile email" })).scope).toBe("openid profile email");
  });

  it("is read from an array, whose items may hold several scopes", () => {
    expect(resolveConfig(withFields({ scope: ["openid", "profile email"] })).scope).toBe("openid profile email");
  });

  it("drops extra spaces and duplicates, keeping the first order", () => {
    expect(resolveConfig(withFields({ scope: "  openid  profile openid  " })).scope).toBe("openid profile");
    expect(resolveConfig(withFields({ scope: ["api", "openid", "api openid"] })).scope).toBe("api openid");
  });

  it("accepts every character RFC 6749 §3.3 allows", () => {
    const scope = "https://api.example.com/read urn:x:y!#$%&'()*+,-./:;<=>?@[]^_`{|}~";
    expect(resolveConfig(withFields({ scope })).scope).toBe(scope);
  });

  it("names the offending scope token", () => {
    const error = configError(() => resolveConfig(withFields({ scope: 'openid bad"token' })));
    expect(error.message).toContain("bad");
  });
});

describe("defaults", () => {
  const cfg = resolveConfig(VALID);

  it('scope is "openid", and openid is on', () => {
    expect(cfg.scope).toBe("openid");
    expect(cfg.openid).toBe(true);
  });

  it('storage is "session", responseMode "query", timeoutMs 10000', () => {
    expect(cfg.storage).toBe("session");
    expect(cfg.responseMode).toBe("query");
    expect(cfg.timeoutMs).toBe(10_000);
  });

  it('storage is "memory" with a tokenProxy (its cookie restores the session), unless set', () => {
    expect(resolveConfig(withFields({ tokenProxy: "/auth/token" })).storage).toBe("memory");
    expect(resolveConfig(withFields({ tokenProxy: "/auth/token", storage: "local" })).storage).toBe("local");
  });

  it("optional fields are undefined or empty", () => {
    expect(cfg).toMatchObject({ tokenProxy: undefined, endpoints: undefined, postLogoutRedirectUri: undefined, fetch: undefined, openUrl: undefined });
    expect(cfg.extraAuthorizeParams).toEqual({});
  });

  it("openid is true only when the scope names openid", () => {
    expect(resolveConfig(withFields({ scope: "profile openid" })).openid).toBe(true);
    expect(resolveConfig(withFields({ scope: "api:read offline_access" })).openid).toBe(false);
    expect(resolveConfig(withFields({ scope: "openidx" })).openid).toBe(false);
  });
});

describe("unknown fields", () => {
  it.each([
    ["client_id", "clientId"],
    ["redirect_uri", "redirectUri"],
    ["token_proxy", "tokenProxy"],
    ["post_logout_redirect_uri", "postLogoutRedirectUri"],
  ])('%s gets the hint did you mean "%s"', (snake, camel) => {
    const error = configError(() => resolveConfig(withFields({ [snake]: "x" })));
    expect(error.message).toContain(`"${snake}"`);
    expect(error.message).toContain(`did you mean "${camel}"`);
  });

  it.each([
    ["scopes", "scope"],
    ["redirectUrl", "redirectUri"],
    ["authroity", "authority"],
    ["ClientID", "clientId"],
    ["timeout_ms", "timeoutMs"],
    ["postLogoutRedirectUrl", "postLogoutRedirectUri"],
    ["fetchh", "fetch"],
  ])('the near miss %s gets the hint did you mean "%s"', (typo, option) => {
    const error = configError(() => resolveConfig(withFields({ [typo]: "x" })));
    expect(error.message).toContain(`did you mean "${option}"`);
  });

  it("a near miss inside endpoints gets the hint too", () => {
    const error = configError(() => resolveConfig(withFields({ endpoints: { authorisation: "https://sso.example.com/a", token: "https://sso.example.com/t" } })));
    expect(error.message).toContain('"endpoints.authorisation"');
    expect(error.message).toContain('did you mean "authorization"');
  });

  it("a field with no close option gets no hint", () => {
    const error = configError(() => resolveConfig(withFields({ issuer: "https://sso.example.com" })));
    expect(error.message).toContain('"issuer" is not a react-sso option');
    expect(error.message).not.toContain("did you mean");
  });

  it("a non-object config is refused", () => {
    for (const input of [null, undefined, "https://sso.example.com", 1]) {
      expect(configError(() => resolveConfig(input as unknown as AuthConfig)).message).toContain('"config"');
    }
  });
});

describe("an authority that is the discovery URL", () => {
  it.each([
    ["https://sso.example.com/.well-known/openid-configuration", "https://sso.example.com"],
    ["https://sso.example.com/realms/app/.well-known/openid-configuration", "https://sso.example.com/realms/app"],
    ["https://sso.example.com/.well-known/oauth-authorization-server", "https://sso.example.com"],
  ])("%s is refused, naming the issuer to use", (authority, issuer) => {
    const error = configError(() => resolveConfig(withFields({ authority })));
    expect(error.message).toContain('"authority"');
    expect(error.message).toContain(`use "${issuer}"`);
  });
});

describe("error messages", () => {
  const long = "x".repeat(500);

  it.each([
    ["a long authority that is no URL", { authority: `not a url ${long}` }],
    ["a long http authority", { authority: `http://sso.example.com/${long}` }],
    ["a long scope token", { scope: `openid "${long}` }],
    ["a long storage name", { storage: long }],
    ["a long responseMode", { responseMode: long }],
    ["a long redirectUri with a fragment", { redirectUri: `https://app.example.com/cb#${long}` }],
    ["a long protocol-relative tokenProxy", { tokenProxy: `//${long}` }],
  ])("never echo more than 80 characters of %s", (_what, fields) => {
    const error = configError(() => resolveConfig(withFields(fields)));
    expect(error.message).not.toContain("x".repeat(81));
  });

  it("show the start of the value they refuse", () => {
    const error = configError(() => resolveConfig(withFields({ authority: "http://sso.example.com" })));
    expect(error.message).toContain('"http://sso.example.com"');
    expect(error.message).toContain("https");
  });
});

describe("config errors never echo credentials", () => {
  it("a URL with user:password@ is refused without repeating the password", () => {
    let message = "";
    try {
      createAuthClient({ authority: "https://admin:hunter2-secret@sso.example.com", clientId: "c", redirectUri: "https://app.example.com/cb" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('"authority"');
    expect(message).not.toContain("hunter2");
    expect(message).not.toContain("admin");
  });
});
