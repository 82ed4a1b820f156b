// @vitest-environment node
// The package as a new user gets it: built, packed with `npm pack`, installed in a clean
// directory, and used through its `exports` only, from JavaScript and from TypeScript.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installPacked, run } from "../support/pack.js";
import { readmeSnippets } from "../support/readme.js";

let dir: string;
let pkgDir: string;
let tarball: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "react-sso-pack-"));
  // The README's examples also use a router and the backend frameworks.
  ({ tarball, pkgDir } = installPacked(dir, dir, ["react", "react-dom", "oauth4webapi", "jose", "@types/react", "@types/react-dom", "@types/node", "typescript", "react-router", "express", "@types/express", "fastify", "hono"]));
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("ships dist only, with a file for every export", () => {
    const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { exports: Record<string, unknown>; files: string[] };
    const listed = run("tar", ["-tzf", tarball], dir).split("\n").filter(Boolean);
    expect(listed.every((f) => /^package\/(dist\/|package\.json$|README\.md$|LICENSE)/.test(f))).toBe(true);
    for (const [name, target] of Object.entries(pkg.exports)) {
      if (typeof target === "string") continue;
      for (const file of Object.values(target as Record<string, string>)) {
        expect(() => readFileSync(join(pkgDir, file)), `${name} -> ${file}`).not.toThrow();
      }
    }
  });

  it("is react-sso-kit, with the metadata a registry page shows, and carries its licence", () => {
    const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as Record<string, unknown>;
    expect(pkg.name).toBe("react-sso-kit");
    expect(pkg.license).toBe("MIT");
    expect(pkg.repository).toEqual({ type: "git", url: expect.stringMatching(/^git\+https:\/\/github\.com\/[\w.-]+\/[\w.-]+\.git$/) });
    expect(pkg.homepage).toMatch(/^https:\/\/github\.com\//);
    expect(pkg.bugs).toEqual({ url: expect.stringMatching(/^https:\/\/github\.com\/.+\/issues$/) });
    expect(pkg.keywords).toEqual(expect.arrayContaining(["react", "oauth2", "openid-connect", "pkce"]));
    const licence = readFileSync(join(pkgDir, "LICENSE"), "utf8");
    expect(licence).toMatch(/^MIT License\n/);
    expect(readFileSync(join(pkgDir, "README.md"), "utf8")).toContain("npm install react-sso-kit");
  });

  it("imports every entry through its exports, from plain Node ESM, without touching browser globals", () => {
    const script = `
      const core = await import("react-sso-kit/core");
      const react = await import("react-sso-kit");
      const server = await import("react-sso-kit/server");
      const client = core.createAuthClient({ authority: "https://sso.example.com", clientId: "c", redirectUri: "https://app.example.com/callback" });
      console.log(JSON.stringify({
        core: Object.keys(core).sort(), react: Object.keys(react).sort(), server: Object.keys(server).sort(),
        status: client.getSnapshot().status, sameError: react.AuthError === core.AuthError,
      }));`;
    const out = JSON.parse(run("node", ["--input-type=module", "-e", script], dir)) as Record<string, unknown>;
    expect(out.core).toEqual(["AuthError", "AuthErrorCode", "createAuthClient", "extractQueryParams", "sanitizeReturnTo"]);
    expect(out.react).toEqual(expect.arrayContaining(["OAuthProvider", "useAuth", "useAuthFetch", "RequireAuth", "Callback", "createAuthClient", "AuthError"]));
    expect(out.server).toEqual([
      "AuthError",
      "AuthErrorCode",
      "PROXY_HEADER",
      "REFUSED_HEADER",
      "createOAuthClient",
      "createToken",
      "createTokenProxy",
      "createTokenVerifier",
      "requireAuth",
      "toNodeHandler",
      "withAuth",
    ]);
    expect(out.status).toBe("loading");
    // One copy of the core: the React entry re-exports it rather than bundling its own.
    expect(out.sameError).toBe(true);
  });

  // Two full tsc runs, which take longer than the suite's 20 s default on a busy machine.
  it("type-checks a consumer under moduleResolution bundler and node16", () => {
    writeFileSync(
      join(dir, "consumer.ts"),
      `import { OAuthProvider, useAuth, type AuthSnapshot } from "react-sso-kit";
import { createAuthClient, AuthErrorCode } from "react-sso-kit/core";
import { createOAuthClient, createToken, createTokenProxy, createTokenVerifier, requireAuth, toNodeHandler, withAuth, type AuthInfo, type TokenSet } from "react-sso-kit/server";
const client = createAuthClient({ authority: "https://sso.example.com", clientId: "c", redirectUri: "https://app/cb" });
const snapshot: AuthSnapshot = client.getSnapshot();
const code: "config" = AuthErrorCode.Config;
// Environment variables are string | undefined: optional options must take them under exactOptionalPropertyTypes.
const proxy = createTokenProxy({ issuer: "https://sso.example.com", clientId: "c", clientSecret: process.env.SSO_CLIENT_SECRET, allowedOrigins: ["https://app.example.com"], redirectUris: ["https://app.example.com/cb"], cookie: { secrets: ["x".repeat(32)], name: process.env.COOKIE_NAME } });
const withEnv = createAuthClient({ authority: "https://sso.example.com", clientId: "c", redirectUri: "https://app/cb", tokenProxy: process.env.TOKEN_PROXY, postLogoutRedirectUri: process.env.AFTER_LOGOUT });
const handler: (r: Request) => Promise<Response> = proxy;
const verifier = createTokenVerifier({ issuer: process.env.SSO_ISSUER, audience: "https://api.example.com", jwksUri: process.env.JWKS_URI, introspection: { clientId: "api", clientSecret: process.env.API_SECRET, endpoint: process.env.INTROSPECTION } });
const guard = requireAuth(verifier, { scopes: ["orders:read"] });
const route: (r: Request) => Promise<Response> = withAuth(verifier, (_request, auth: AuthInfo) => Response.json({ sub: auth.sub }), { scopes: process.env.SCOPES });
const service = createOAuthClient({ issuer: "https://sso.example.com", clientId: "svc", clientSecret: process.env.SECRET, tokenEndpoint: process.env.TOKEN_ENDPOINT, timeoutMs: undefined });
const restored: TokenSet = createToken({ access_token: "a", token_type: "bearer", expires_at: process.env.EXPIRES_AT });
export { OAuthProvider, useAuth, snapshot, code, handler, toNodeHandler, withEnv, guard, route, service, restored };
`,
    );
    // An ESM consumer, as the package is ESM only.
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    // Our declarations are checked in full once (skipLibCheck false); the second run checks resolution.
    for (const [resolution, skipLibCheck] of [[["--module", "esnext", "--moduleResolution", "bundler"], "false"], [["--module", "node16", "--moduleResolution", "node16"], "true"]] as const) {
      const args = ["--noEmit", "--strict", "--exactOptionalPropertyTypes", "--skipLibCheck", skipLibCheck, "--target", "es2022", "--lib", "es2022,dom", "--types", "node", "--jsx", "react-jsx", ...resolution, "consumer.ts"];
      const check = () => {
        try {
          run(join(dir, "node_modules/typescript/bin/tsc"), args, dir);
        } catch (err) {
          throw new Error(String((err as { stdout?: string }).stdout ?? err));
        }
      };
      expect(check).not.toThrow();
    }
    // Two full tsc runs: seconds alone, much longer on a busy 2-core machine.
  }, 120_000);
});

describe("the README's examples", () => {
  it("all type-check against the packed package, strict and with exactOptionalPropertyTypes", () => {
    const snippets = readmeSnippets();
    // The Quick start, the proxy and the framework recipes at least; a parsing slip would find none.
    expect(snippets.map((s) => s.file)).toEqual(expect.arrayContaining(["src/main.tsx", "src/App.tsx", "proxy.ts", "express.ts", "hono.ts"]));
    const root = join(dir, "readme");
    for (const { file, code } of snippets) {
      mkdirSync(join(root, file, ".."), { recursive: true });
      writeFileSync(join(root, file), code);
    }
    const args = ["--noEmit", "--strict", "--exactOptionalPropertyTypes", "--skipLibCheck", "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler", "--lib", "es2022,dom,dom.iterable", "--types", "node", "--jsx", "react-jsx", ...snippets.map((s) => join(root, s.file))];
    let output = "";
    try {
      run(join(dir, "node_modules/typescript/bin/tsc"), args, dir);
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(output).toBe("");
  }, 120_000);
});

