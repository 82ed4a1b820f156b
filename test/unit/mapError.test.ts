import * as oauth from "oauth4webapi";
import { describe, expect, it } from "vitest";
import { AuthError, AuthErrorCode, cleanDescription, codeFromOAuthError, oauthError } from "../../src/shared/AuthError.js";
import { mapError } from "../../src/core/mapError.js";
import { parseRetryAfter } from "../../src/shared/http.js";

const as: oauth.AuthorizationServer = { issuer: "https://as.example", token_endpoint: "https://as.example/token" };
const client: oauth.Client = { client_id: "c" };
const WHO = "The IdP's token endpoint";

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const html = (status: number, body: string, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { "content-type": "text/html", ...headers } });

/** What oauth4webapi throws for this token endpoint response (it must throw). */
async function libraryError(response: Response, grant: "code" | "refresh" = "code"): Promise<unknown> {
  try {
    if (grant === "code") await oauth.processAuthorizationCodeResponse(as, client, response);
    else await oauth.processRefreshTokenResponse(as, client, response);
  } catch (err) {
    return err;
  }
  throw new Error("oauth4webapi accepted the response");
}

const mapped = async (response: Response, viaProxy = false, grant: "code" | "refresh" = "code") =>
  mapError(await libraryError(response, grant), WHO, viaProxy);

describe("mapError: token endpoint responses, through real oauth4webapi errors", () => {
  it.each(["code", "refresh"] as const)("400 + OAuth JSON keeps the IdP's code and description (%s grant)", async (grant) => {
    const error = await mapped(json(400, { error: "invalid_grant", error_description: "code expired", error_uri: "https://as.example/e" }), false, grant);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: "invalid_grant", status: 400, error: "invalid_grant", errorDescription: "code expired", errorUri: "https://as.example/e" });
    expect(error.transient).toBe(false);
    expect(error.message).toContain("invalid_grant");
    expect(error.message).toContain("code expired");
  });

  it("400 + an OAuth code react-sso has no constant for: idp_error, keeping the IdP's value", async () => {
    const error = await mapped(json(400, { error: "invalid_dpop_proof" }));
    expect(error).toMatchObject({ code: "idp_error", error: "invalid_dpop_proof", status: 400 });
  });

  it("400 + text/html: invalid_response, final", async () => {
    const error = await mapped(html(400, "<html><body>Bad Request</body></html>"));
    expect(error).toMatchObject({ code: "invalid_response", status: 400, error: undefined });
    expect(error.transient).toBe(false);
    expect(error.message).toContain("HTTP 400");
  });

  it("400 + text/html whose text is OAuth JSON: the error code is read anyway (lenient)", async () => {
    const error = await mapped(html(400, '{"error":"invalid_grant","error_description":"used twice"}'));
    expect(error).toMatchObject({ code: "invalid_grant", status: 400, error: "invalid_grant", errorDescription: "used twice" });
  });

  it("400 + text/plain OAuth JSON, refresh grant: also lenient", async () => {
    const response = new Response('{"error":"invalid_client"}', { status: 401, headers: { "content-type": "text/plain" } });
    expect(await mapped(response, false, "refresh")).toMatchObject({ code: "invalid_client", status: 401 });
  });

  it("400 + an empty body: invalid_response with the status", async () => {
    const error = await mapped(new Response(null, { status: 400 }));
    expect(error).toMatchObject({ code: "invalid_response", status: 400 });
    expect(error.transient).toBe(false);
  });

  it('401 + WWW-Authenticate: Basic error="invalid_client": invalid_client, final', async () => {
    const response = new Response(null, { status: 401, headers: { "www-authenticate": 'Basic realm="as", error="invalid_client", error_description="unknown client"' } });
    const error = await mapped(response);
    expect(error).toMatchObject({ code: "invalid_client", status: 401, error: "invalid_client", errorDescription: "unknown client" });
    expect(error.transient).toBe(false);
  });

  it("401 + a WWW-Authenticate challenge without error: invalid_response with the status", async () => {
    const response = new Response(null, { status: 401, headers: { "www-authenticate": 'Basic realm="as"' } });
    expect(await mapped(response)).toMatchObject({ code: "invalid_response", status: 401 });
  });

  it("500 + HTML: invalid_response, transient, and the message says to try later", async () => {
    const error = await mapped(html(500, "<h1>Internal Server Error</h1>"));
    expect(error).toMatchObject({ code: "invalid_response", status: 500 });
    expect(error.transient).toBe(true);
    expect(error.message).toMatch(/try again later/);
  });

  it("503 + JSON + Retry-After: transient, with retryAfter in seconds", async () => {
    const error = await mapped(json(503, { error: "temporarily_unavailable" }, { "retry-after": "120" }));
    expect(error.status).toBe(503);
    expect(error.retryAfter).toBe(120);
    expect(error.transient).toBe(true);
  });

  it("502 and 504 are transient", async () => {
    for (const status of [502, 504]) {
      expect((await mapped(html(status, "gateway"))).transient, String(status)).toBe(true);
    }
  });

  it("429 + Retry-After: transient, with retryAfter", async () => {
    const error = await mapped(json(429, { error: "slow_down" }, { "retry-after": "7" }));
    expect(error).toMatchObject({ status: 429, retryAfter: 7, error: "slow_down" });
    expect(error.transient).toBe(true);
  });

  it("408 is transient", async () => {
    const error = await mapped(new Response(null, { status: 408 }));
    expect(error.status).toBe(408);
    expect(error.transient).toBe(true);
  });

  it.each([400, 401, 403, 404, 409, 422])("%i is final", async (status) => {
    expect((await mapped(html(status, "no"))).transient).toBe(false);
  });

  it("200 + a body that is not JSON: invalid_response", async () => {
    const error = await mapped(new Response("hello", { status: 200, headers: { "content-type": "text/plain" } }));
    expect(error.code).toBe("invalid_response");
    expect(error.transient).toBe(false);
  });

  it("200 + JSON without access_token: invalid_response naming the property", async () => {
    const error = await mapped(json(200, { token_type: "bearer", expires_in: 60 }));
    expect(error.code).toBe("invalid_response");
    expect(error.message).toContain("access_token");
  });

  it("200 + an unknown token_type: invalid_response", async () => {
    expect((await mapped(json(200, { access_token: "a", token_type: "weird" }))).code).toBe("invalid_response");
  });
});

describe("mapError through the token proxy (viaProxy)", () => {
  it.each([403, 404, 405, 413, 415])("%i becomes proxy_rejected", async (status) => {
    const error = await mapped(html(status, "<h1>nope</h1>"), true);
    expect(error).toMatchObject({ code: "proxy_rejected", status });
    expect(error.transient).toBe(false);
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).toContain("tokenProxy");
  });

  it("a refusal the proxy marks as its own is proxy_rejected, with its error and description", async () => {
    const refusal = json(403, { error: "access_denied", error_description: "This Origin is not allowed to use the token proxy." }, { "x-react-sso-refused": "1" });
    const error = await mapped(refusal, true);
    expect(error).toMatchObject({ code: "proxy_rejected", status: 403, error: "access_denied" });
    expect(error.message).toContain("This Origin is not allowed");
    expect(error.message).toContain("allowedOrigins");
  });

  it.each([400, 401, 403])("an IdP error the proxy relays (%i, unmarked) keeps the IdP's code and description", async (status) => {
    const error = await mapped(json(status, { error: "unauthorized_client", error_description: "The client may not use this grant." }), true);
    expect(error).toMatchObject({ code: "unauthorized_client", status, error: "unauthorized_client", errorDescription: "The client may not use this grant." });
    expect(error.message).toContain("The client may not use this grant.");
    expect(error.message).not.toContain("allowedOrigins");
    expect(error.transient).toBe(false);
  });

  it("the same statuses without a proxy are not proxy_rejected", async () => {
    for (const status of [403, 404, 405, 413, 415]) {
      expect((await mapped(html(status, "nope"), false)).code, String(status)).not.toBe("proxy_rejected");
    }
  });

  it("an OAuth 400 from the IdP stays itself through the proxy", async () => {
    expect(await mapped(json(400, { error: "invalid_grant" }), true)).toMatchObject({ code: "invalid_grant", status: 400 });
  });

  it("a 502 or 504 from the proxy stays transient", async () => {
    for (const status of [502, 504]) {
      const error = await mapped(json(status, { error: "server_error" }), true);
      expect(error.code).not.toBe("proxy_rejected");
      expect(error.transient).toBe(true);
    }
  });
});

describe("mapError: other failures", () => {
  it("returns an AuthError unchanged", async () => {
    const error = new AuthError("network", "down");
    expect(await mapError(error, WHO)).toBe(error);
  });

  it("an authorization error response keeps the IdP's code", async () => {
    let thrown: unknown;
    try {
      oauth.validateAuthResponse(as, client, new URLSearchParams("error=access_denied&error_description=User+cancelled&state=s"), "s");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(oauth.AuthorizationResponseError);
    const error = await mapError(thrown, WHO);
    expect(error).toMatchObject({ code: "access_denied", error: "access_denied", errorDescription: "User cancelled" });
    expect(error.message).toMatch(/access was denied/);
    expect(error.transient).toBe(false);
  });

  it("temporarily_unavailable from the authorization endpoint is transient", async () => {
    let thrown: unknown;
    try {
      oauth.validateAuthResponse(as, client, new URLSearchParams("error=temporarily_unavailable&state=s"), "s");
    } catch (err) {
      thrown = err;
    }
    const error = await mapError(thrown, WHO);
    expect(error.code).toBe("temporarily_unavailable");
    expect(error.transient).toBe(true);
  });

  it("a state mismatch from oauth4webapi is not mistaken for success", async () => {
    let thrown: unknown;
    try {
      oauth.validateAuthResponse(as, client, new URLSearchParams("code=c&state=other"), "s");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(oauth.OperationProcessingError);
    const error = await mapError(thrown, WHO);
    expect(error).toBeInstanceOf(AuthError);
    expect(error.code).toBe("invalid_response");
  });

  it("an iss mismatch in the callback (RFC 9207) shows both issuers", async () => {
    let thrown: unknown;
    try {
      oauth.validateAuthResponse(as, client, new URLSearchParams("code=c&state=s&iss=http%3A%2F%2Flocalhost%3A4000"), "s");
    } catch (err) {
      thrown = err;
    }
    const error = await mapError(thrown, WHO);
    expect(error.code).toBe("issuer_mismatch");
    expect(error.message).toContain('got "http://localhost:4000"');
    expect(error.message).toContain(`expected "${as.issuer}"`);
  });

  it("an unknown thrown value becomes invalid_response", async () => {
    const error = await mapError("weird", WHO);
    expect(error.code).toBe("invalid_response");
    expect(error.message).toContain(WHO);
  });

  it("a network AuthError is transient", () => {
    expect(new AuthError("network", "unreachable").transient).toBe(true);
  });
});

/** Every string reachable from an error: messages, fields, and the whole cause chain. */
function everythingIn(error: AuthError): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 20; depth++) {
    parts.push(String(current));
    if (current instanceof Error) parts.push(current.message, current.stack ?? "");
    try {
      parts.push(JSON.stringify(current) ?? "");
    } catch {
      // a cycle: the other parts still count
    }
    if (typeof current === "object") {
      for (const value of Object.values(current)) if (typeof value === "string") parts.push(value);
    }
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join("\n");
}

describe("mapError never leaks a token from the response body", () => {
  const SECRET = "SECRET-AT-123";
  const REFRESH = "SECRET-RT-456";
  const ID = "eyJhbGciOiJSUzI1NiJ9.SECRET-ID-789.sig";

  it("(the check itself finds a token anywhere in a cause chain)", () => {
    const leaky = new AuthError("invalid_response", "m", { cause: new Error("x", { cause: { body: { access_token: SECRET } } }) });
    expect(everythingIn(leaky)).toContain(SECRET);
  });

  it.each([
    ["an unknown token_type", () => json(200, { access_token: SECRET, token_type: "weird", refresh_token: REFRESH })],
    ["a non-numeric expires_in", () => json(200, { access_token: SECRET, token_type: "bearer", expires_in: "soon", refresh_token: REFRESH })],
    ["a non-string refresh_token", () => json(200, { access_token: SECRET, token_type: "bearer", refresh_token: 5 })],
    ["a non-string scope", () => json(200, { access_token: SECRET, token_type: "bearer", scope: ["a"], refresh_token: REFRESH })],
    ["an ID token that is no JWT", () => json(200, { access_token: SECRET, token_type: "bearer", id_token: ID, refresh_token: REFRESH })],
    ["a missing token_type", () => json(200, { access_token: SECRET, refresh_token: REFRESH })],
    ["a top-level array", () => json(200, [SECRET, REFRESH])],
    ["an error body that also carries tokens", () => json(400, { error: "invalid_request", access_token: SECRET, refresh_token: REFRESH })],
    ["a 500 whose body carries tokens", () => json(500, { access_token: SECRET, refresh_token: REFRESH })],
    ["an HTML 400 carrying tokens", () => html(400, `{"error":"invalid_grant","access_token":"${SECRET}","refresh_token":"${REFRESH}"}`)],
    ["a 403 from the proxy carrying tokens", () => json(403, { error: "forbidden", access_token: SECRET, refresh_token: REFRESH })],
  ])("with %s", async (_what, response) => {
    for (const grant of ["code", "refresh"] as const) {
      const error = await mapped(response(), true, grant);
      const text = everythingIn(error);
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(REFRESH);
      expect(text).not.toContain("SECRET-ID-789");
    }
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2030-01-01T00:00:00Z");

  it("reads delta-seconds", () => {
    expect(parseRetryAfter("120", now)).toBe(120);
    expect(parseRetryAfter("0", now)).toBe(0);
    expect(parseRetryAfter(" 5 ", now)).toBe(5);
  });

  it("reads an HTTP-date as seconds from now, rounded up", () => {
    expect(parseRetryAfter("Tue, 01 Jan 2030 00:00:30 GMT", now)).toBe(30);
    expect(parseRetryAfter("Tue, 01 Jan 2030 00:00:30 GMT", now + 500)).toBe(30);
  });

  it("gives 0 for a date in the past", () => {
    expect(parseRetryAfter("Mon, 31 Dec 2029 23:00:00 GMT", now)).toBe(0);
  });

  it("gives undefined when there is no header or it is unreadable", () => {
    for (const value of [null, undefined, "", "soon", "12abc", "0x10"]) {
      expect(parseRetryAfter(value, now), String(value)).toBeUndefined();
    }
  });

  it("gives undefined for values that are neither delta-seconds nor an HTTP-date", () => {
    for (const value of ["-1", "1.5"]) {
      expect(parseRetryAfter(value, now), value).toBeUndefined();
    }
  });
});

describe("AuthError", () => {
  it("is an Error with a name, a code and a message", () => {
    const error = new AuthError(AuthErrorCode.StateMismatch, "no such login");
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(AuthError);
    expect(error.name).toBe("AuthError");
    expect(error.code).toBe("state_mismatch");
    expect(error.message).toBe("no such login");
    expect(String(error)).toBe("AuthError: no such login");
    expect(error.stack).toContain("no such login");
  });

  it("carries the IdP's fields, the status, retryAfter and the cause", () => {
    const cause = new Error("under");
    const error = new AuthError("invalid_grant", "m", {
      error: "invalid_grant",
      errorDescription: "code expired",
      errorUri: "https://as.example/e",
      status: 400,
      retryAfter: 3,
      cause,
    });
    expect(error).toMatchObject({ error: "invalid_grant", errorDescription: "code expired", errorUri: "https://as.example/e", status: 400, retryAfter: 3 });
    expect(error.cause).toBe(cause);
  });

  it("has no cause property when none is given", () => {
    const error = new AuthError("network", "m");
    expect("cause" in error).toBe(false);
    expect(error.error).toBeUndefined();
    expect(error.errorDescription).toBeUndefined();
  });

  it("is transient for network, temporarily_unavailable, 408, 429 and 5xx only", () => {
    expect(new AuthError("temporarily_unavailable", "m").transient).toBe(true);
    for (const status of [408, 429, 500, 502, 503, 504]) expect(new AuthError("invalid_response", "m", { status }).transient, String(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 499]) expect(new AuthError("invalid_response", "m", { status }).transient, String(status)).toBe(false);
    expect(new AuthError("invalid_grant", "m").transient).toBe(false);
  });

  it("exports its codes as constants with stable snake_case values", () => {
    expect(AuthErrorCode).toMatchObject({
      Config: "config",
      StateMismatch: "state_mismatch",
      CallbackReplayed: "callback_replayed",
      Network: "network",
      ProxyRejected: "proxy_rejected",
      AccessDenied: "access_denied",
      InvalidGrant: "invalid_grant",
      SessionExpired: "session_expired",
      LoginRequired: "login_required",
    });
    const values = Object.values(AuthErrorCode);
    expect(new Set(values).size).toBe(values.length);
    for (const value of values) expect(value).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });

  it("codeFromOAuthError keeps known codes and maps the rest to idp_error", () => {
    expect(codeFromOAuthError("invalid_grant")).toBe("invalid_grant");
    expect(codeFromOAuthError("login_required")).toBe("login_required");
    expect(codeFromOAuthError("made_up")).toBe("idp_error");
  });

  it("cleanDescription drops control characters and bounds the length", () => {
    expect(cleanDescription("line1\r\nline2\u0000\u007f!")).toBe("line1 line2 !");
    expect(cleanDescription("d".repeat(2000))).toHaveLength(500);
    expect(cleanDescription("")).toBeUndefined();
    expect(cleanDescription(42)).toBeUndefined();
  });

  it("oauthError bounds the echoed error code and keeps the description as text", () => {
    const error = oauthError({ error: "e".repeat(1000), error_description: "<b>html</b>" }, "The IdP");
    expect(error.message).not.toContain("e".repeat(101));
    expect(error.errorDescription).toBe("<b>html</b>");
    expect(error.code).toBe("idp_error");
  });
});
