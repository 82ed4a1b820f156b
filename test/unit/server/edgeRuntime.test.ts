// @vitest-environment node
// The server entry in a runtime without Node: bundled with its dependencies and run in a fresh
// V8 context that has Web APIs but no `process` (Cloudflare Workers, Vercel Edge), and in one
// whose `process.env` throws on access (Deno without --allow-env).
import { join } from "node:path";
import { createContext, runInContext } from "node:vm";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../../..");
let bundle: string;

beforeAll(async () => {
  const result = await build({
    entryPoints: [join(ROOT, "src/server/index.ts")],
    bundle: true,
    format: "iife",
    globalName: "server",
    platform: "neutral",
    mainFields: ["module", "main"],
    write: false,
    logLevel: "silent",
  });
  bundle = result.outputFiles[0]?.text ?? "";
});

const WEB_GLOBALS = ["fetch", "Request", "Response", "Headers", "URL", "URLSearchParams", "TextEncoder", "TextDecoder", "crypto", "AbortSignal", "AbortController", "atob", "btoa", "performance", "DOMException", "structuredClone", "setTimeout", "clearTimeout"] as const;

function run(extra: Record<string, unknown>, script: string): Promise<unknown> {
  const globals: Record<string, unknown> = { console: { error: () => undefined, log: () => undefined, warn: () => undefined } };
  for (const name of WEB_GLOBALS) globals[name] = globalThis[name];
  const context = createContext({ ...globals, ...extra });
  runInContext(bundle, context);
  return runInContext(script, context) as Promise<unknown>;
}

const SCRIPT = `(async () => {
  const verifier = server.createTokenVerifier({ issuer: "https://sso.example.com", audience: "api" });
  const oauth = server.createOAuthClient({ issuer: "https://sso.example.com", clientId: "svc", clientSecret: "s" });
  const refused = await verifier.verify({ headers: {} }).catch((err) => err.status + " " + err.wwwAuthenticate);
  return { hasProcess: typeof process !== "undefined", refused, client: typeof oauth.getAccessToken, guard: typeof server.withAuth };
})()`;

describe("the server entry outside Node", () => {
  it("loads, creates a verifier and a client, and answers, with no process at all", async () => {
    expect(bundle).not.toMatch(/\brequire\(|from\s*["']node:/);
    await expect(run({}, SCRIPT)).resolves.toEqual({ hasProcess: false, refused: "401 Bearer", client: "function", guard: "function" });
  });

  it("does the same when reading process.env throws", async () => {
    const process = Object.defineProperty({}, "env", {
      get() {
        throw new Error("PermissionDenied: Requires env access");
      },
    });
    await expect(run({ process }, SCRIPT)).resolves.toMatchObject({ hasProcess: true, refused: "401 Bearer" });
  });

  it("still honours DEBUG=react-sso where process.env exists", async () => {
    const lines: unknown[] = [];
    const result = await run(
      { process: { env: { DEBUG: "react-sso" } }, console: { error: (line: unknown) => lines.push(line) } },
      `(async () => {
        const oauth = server.createOAuthClient({ tokenEndpoint: "https://sso.example.com/token", clientId: "svc", clientSecret: "s",
          fetch: async () => new Response(JSON.stringify({ access_token: "at", token_type: "Bearer", expires_in: 60 }), { headers: { "content-type": "application/json" } }) });
        return (await oauth.clientCredentials()).accessToken;
      })()`,
    );
    expect(result).toBe("at");
    expect(lines).toEqual([expect.stringMatching(/^react-sso POST https:\/\/sso\.example\.com\/token 200 \d+ms$/)]);
  });
});
