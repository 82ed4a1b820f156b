// A stub authorization server on 127.0.0.1 for the parts that measure the SDK's own cost (the
// proxy's overhead, renders, memory): it answers like a real IdP (discovery, JWKS, code and
// refresh grants with rotated refresh tokens, RS256 ID tokens, revocation) and does as little
// work as it can, so the time and memory measured are the client's, not the server's.
import { createHash, createSign, generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { closeServer, listen } from "./common.js";
import { NONCE_CODE_PREFIX } from "./proxyShared.js";

export interface StubIdpOptions {
  clientId: string;
  /** When set, the token endpoint requires it (client_secret_basic or client_secret_post). */
  clientSecret?: string | undefined;
  /** What `/token` puts in its answers: no ID token, or one signed for each answer. `/token-idt` always answers with a pre-signed one. */
  idTokens: "none" | "signed";
  /** Accept any authorization code (the proxy benchmark makes them up); otherwise only codes from `authorize()`. */
  anyCode?: boolean | undefined;
  sub?: string | undefined;
}

export interface StubIdp {
  issuer: string;
  tokenEndpoint: string;
  /** The same grants, each answer carrying an ID token signed ahead of time. */
  tokenEndpointWithIdToken: string;
  jwksUri: string;
  /** Token requests answered, by grant. */
  counts: { authorization_code: number; refresh_token: number; revocation: number; rejected: number };
  /** What the user's visit to the authorization endpoint would produce: the redirect back, with a code. */
  authorize(authorizationUrl: string): string;
  close(): Promise<void>;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");
const token = () => randomBytes(24).toString("base64url");

export async function startStubIdp(options: StubIdpOptions): Promise<StubIdp> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = createHash("sha256").update(publicKey.export({ format: "der", type: "spki" })).digest("base64url").slice(0, 16);
  const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" }] });
  const sub = options.sub ?? "ada";
  const server = createServer();
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;
  const header = b64url(JSON.stringify({ alg: "RS256", kid, typ: "JWT" }));

  function sign(nonce?: string): string {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer, sub, aud: options.clientId, iat: now, exp: now + 3600, name: "Ada Lovelace", ...(nonce && { nonce }) };
    const input = `${header}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${createSign("RSA-SHA256").update(input).sign(privateKey).toString("base64url")}`;
  }
  // Signed ahead of time and reused: an upstream that costs nothing per answer, so what is measured is the proxy.
  const pool = Array.from({ length: 16 }, () => sign());
  let next = 0;

  const live = new Set<string>();
  const codes = new Map<string, { nonce: string | undefined }>();
  const counts = { authorization_code: 0, refresh_token: 0, revocation: 0, rejected: 0 };
  // RFC 6749 §2.3.1: both halves are form-encoded before base64, so decode them the same way.
  const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, " "));
  const authenticated = (req: IncomingMessage, form: URLSearchParams): boolean => {
    if (!options.clientSecret) return form.get("client_id") === options.clientId;
    const [scheme, credentials = ""] = (req.headers.authorization ?? "").split(" ");
    if (scheme?.toLowerCase() !== "basic") return form.get("client_id") === options.clientId && form.get("client_secret") === options.clientSecret;
    const decoded = Buffer.from(credentials, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return formDecode(decoded.slice(0, colon)) === options.clientId && formDecode(decoded.slice(colon + 1)) === options.clientSecret;
  };
  const discovery = JSON.stringify({
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    revocation_endpoint: `${issuer}/revoke`,
    end_session_endpoint: `${issuer}/end`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ["code"],
    code_challenge_methods_supported: ["S256"],
    id_token_signing_alg_values_supported: ["RS256"],
  });

  const send = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", "content-length": Buffer.byteLength(body) });
    res.end(body);
  };
  const refuse = (res: ServerResponse, status: number, error: string) => {
    counts.rejected++;
    send(res, status, JSON.stringify({ error }));
  };

  async function tokenEndpoint(req: IncomingMessage, res: ServerResponse, idTokens: "none" | "signed" | "pooled"): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    if (!authenticated(req, form)) return refuse(res, 401, "invalid_client");
    let nonce: string | undefined;
    const grant = form.get("grant_type");
    if (grant === "authorization_code") {
      const code = form.get("code") ?? "";
      const issued = codes.get(code);
      if (!issued && !options.anyCode) return refuse(res, 400, "invalid_grant");
      codes.delete(code);
      // The proxy benchmark names the nonce its login step gave in the code it makes up: as an IdP
      // would, the ID token of that sign-in carries it.
      nonce = issued?.nonce ?? (code.startsWith(NONCE_CODE_PREFIX) ? code.slice(NONCE_CODE_PREFIX.length) : undefined);
      counts.authorization_code++;
    } else if (grant === "refresh_token") {
      // Rotation: a refresh token works once.
      if (!live.delete(form.get("refresh_token") ?? "")) return refuse(res, 400, "invalid_grant");
      counts.refresh_token++;
    } else {
      return refuse(res, 400, "unsupported_grant_type");
    }
    const refreshToken = token();
    live.add(refreshToken);
    const idToken = idTokens === "signed" || (idTokens === "pooled" && nonce) ? sign(nonce) : idTokens === "pooled" ? pool[next++ % pool.length] : undefined;
    send(
      res,
      200,
      JSON.stringify({ access_token: token(), token_type: "Bearer", expires_in: 300, refresh_token: refreshToken, scope: "openid profile offline_access", ...(idToken && { id_token: idToken }) }),
    );
  }

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    const fail = () => {
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: "server_error" }));
    };
    if (req.method === "GET" && path === "/.well-known/openid-configuration") return send(res, 200, discovery);
    if (req.method === "GET" && path === "/jwks") return send(res, 200, jwks);
    if (req.method === "POST" && path === "/token") return void tokenEndpoint(req, res, options.idTokens).catch(fail);
    if (req.method === "POST" && path === "/token-idt") return void tokenEndpoint(req, res, "pooled").catch(fail);
    if (req.method === "POST" && path === "/revoke") {
      return void readBody(req)
        .then((body) => {
          live.delete(new URLSearchParams(body).get("token") ?? "");
          counts.revocation++;
          res.writeHead(200).end();
        })
        .catch(fail);
    }
    send(res, 404, JSON.stringify({ error: "not_found" }));
  });

  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    tokenEndpointWithIdToken: `${issuer}/token-idt`,
    jwksUri: `${issuer}/jwks`,
    counts,
    authorize(authorizationUrl) {
      const url = new URL(authorizationUrl);
      const redirect = new URL(url.searchParams.get("redirect_uri") ?? "");
      if (url.searchParams.get("code_challenge_method") !== "S256") throw new Error("stub IdP: the login did not use PKCE S256");
      const code = token();
      codes.set(code, { nonce: url.searchParams.get("nonce") ?? undefined });
      redirect.searchParams.set("code", code);
      redirect.searchParams.set("state", url.searchParams.get("state") ?? "");
      return redirect.href;
    },
    close: () => closeServer(server),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new Error("body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
