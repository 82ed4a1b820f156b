// The README's Quick start, as a new user gets it: its src/main.tsx and src/App.tsx pasted into a
// fresh Vite app, react-sso-kit installed from the packed tarball, type-checked, built, served,
// and then signed in and out in Chromium against a local IdP. Only the placeholder issuer is
// replaced; the README cannot drift from what works.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { build, preview, type PreviewServer } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIdp, type TestIdp } from "../../playground/idp.js";
import { installPacked, run } from "../support/pack.js";
import { readmeFile } from "../support/readme.js";
import { launch, OUTPUT_DIR, signInAtIdp } from "./browser.js";

const PLACEHOLDER_ISSUER = "https://sso.example.com";
const CLIENT_ID = "my-spa";
/** Generous: a cold 2-core machine builds, type-checks and packs here. */
const WAIT = { timeout: 20_000 };

let dir: string;
let idp: TestIdp;
let app: PreviewServer;
let origin: string;
let browser: Browser;


async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** A Vite react-ts app's files, with the Quick start's two files as the README writes them. */
function writeApp(appDir: string, issuer: string): void {
  mkdirSync(join(appDir, "src"), { recursive: true });
  writeFileSync(
    join(appDir, "index.html"),
    `<!doctype html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8" />\n    <title>Quick start</title>\n  </head>\n  <body>\n    <div id="root"></div>\n    <script type="module" src="/src/main.tsx"></script>\n  </body>\n</html>\n`,
  );
  const main = readmeFile("src/main.tsx");
  expect(main).toContain(`authority: "${PLACEHOLDER_ISSUER}"`);
  writeFileSync(join(appDir, "src/main.tsx"), main.replace(`"${PLACEHOLDER_ISSUER}"`, JSON.stringify(issuer)));
  writeFileSync(join(appDir, "src/App.tsx"), readmeFile("src/App.tsx"));
  writeFileSync(join(appDir, "package.json"), JSON.stringify({ name: "quick-start", private: true, type: "module" }));
  // Vite's react-ts template, plus the strictest optional-property check users turn on.
  writeFileSync(
    join(appDir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        lib: ["ES2022", "DOM", "DOM.Iterable"],
        module: "ESNext",
        moduleResolution: "bundler",
        jsx: "react-jsx",
        strict: true,
        exactOptionalPropertyTypes: true,
        noUnusedLocals: true,
        noUnusedParameters: true,
        noFallthroughCasesInSwitch: true,
        skipLibCheck: true,
        noEmit: true,
        types: [],
      },
      include: ["src"],
    }),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "react-sso-quickstart-"));
  const appDir = join(dir, "app");
  // Installed from the tarball `npm pack` makes, with what `npm install react-sso-kit react-router`
  // and the Vite template bring.
  installPacked(dir, appDir, ["react", "react-dom", "react-router", "oauth4webapi", "vite", "typescript", "@types/react", "@types/react-dom"]);

  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  idp = await startIdp({
    clients: [
      {
        client_id: CLIENT_ID,
        token_endpoint_auth_method: "none",
        redirect_uris: [`${origin}/callback`],
        post_logout_redirect_uris: [`${origin}/`],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
      },
    ],
  });
  writeApp(appDir, idp.issuer);
  run(join(appDir, "node_modules/typescript/bin/tsc"), ["-p", "."], appDir);
  // Vite 8 compiles TSX with Oxc; @vitejs/plugin-react adds Fast Refresh only, which a build does not use.
  const viteConfig = { root: appDir, configFile: false as const, logLevel: "silent" as const, oxc: { jsx: { runtime: "automatic" as const } } };
  await build({ ...viteConfig, build: { outDir: join(appDir, "dist") } });
  app = await preview({ ...viteConfig, build: { outDir: join(appDir, "dist") }, preview: { host: "127.0.0.1", port, strictPort: true } });
  browser = await launch();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await idp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signedIn(page: Page): Promise<void> {
  await page.goto(`${origin}/`);
  await page.getByRole("button", { name: "Sign in" }).click(WAIT);
  await page.waitForURL((url) => url.origin === idp.issuer, WAIT);
  await signInAtIdp(page);
  await page.waitForURL(`${origin}/account`, WAIT);
  await page.getByText("Signed in as User ada").waitFor(WAIT);
}

describe("the README's Quick start, built from the packed package", () => {
  it("signs in from the home page and lands on the guarded page, with one code exchange", async () => {
    idp.reset();
    const page = await (await browser.newContext()).newPage();
    await signedIn(page);
    const stats = idp.stats();
    expect(stats.authorization).toBe(1);
    // StrictMode mounts <Callback> twice; the code is exchanged once.
    expect(stats.token.authorization_code).toBe(1);
    expect(new URL(page.url()).search).toBe("");
    await page.screenshot({ path: new URL("quickstart-account.png", OUTPUT_DIR).pathname });
    await page.context().close();
  });

  it("signs out from the guarded page: back home signed out, the refresh token revoked, and no new login", async () => {
    const page = await (await browser.newContext()).newPage();
    await signedIn(page);
    idp.reset();
    await page.getByRole("button", { name: "Sign out" }).click(WAIT);
    await page.waitForURL((url) => url.origin === idp.issuer, WAIT);
    // The local IdP asks before ending its session (OpenID Connect RP-Initiated Logout).
    await page.getByRole("button", { name: "Yes, sign me out" }).click(WAIT);
    await page.waitForURL(`${origin}/`, WAIT);
    await page.getByRole("button", { name: "Sign in" }).waitFor(WAIT);
    const stats = idp.stats();
    expect(stats.revocation).toBe(1);
    expect(stats.endSession).toBeGreaterThanOrEqual(1);
    // The guard on /account saw "unauthenticated" while the sign-out was under way: it must not have logged in again.
    expect(stats.authorization).toBe(0);
    expect(stats.token.total).toBe(0);
    await page.context().close();
  });

  it("opened directly, the guarded page sends the user to sign in and back to it", async () => {
    idp.reset();
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${origin}/account`);
    await page.waitForURL((url) => url.origin === idp.issuer, WAIT);
    await signInAtIdp(page);
    await page.waitForURL(`${origin}/account`, WAIT);
    await page.getByText("Signed in as User ada").waitFor(WAIT);
    expect(idp.stats().authorization).toBe(1);
    await page.context().close();
  });
});
