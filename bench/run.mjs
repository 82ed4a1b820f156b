// `npm run bench:peers` (from the root) or `node run.mjs [--smoke] [--only=sizes,browser,renders,proxy,memory]`.
// Node 20 cannot run TypeScript, so esbuild compiles the harness into node_modules/.cache first.
// The library's own sources and dependencies (jose, oauth4webapi) are bundled from the root, as an
// app's bundler would; what must exist once per process (React, oidc-provider, jsdom, Playwright,
// esbuild) stays an import, resolved from bench/node_modules, then the root's.
import { build } from "esbuild";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const outdir = here("./node_modules/.cache/react-sso-bench/");
const entries = ["main", "renders", "memory", "proxy", "proxyServer"];

await build({
  entryPoints: Object.fromEntries(entries.map((name) => [name, here(`./src/${name}.ts`)])),
  outdir,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  jsx: "automatic",
  external: ["react", "react-dom", "react/*", "react-dom/*", "oidc-provider", "jsdom", "playwright-core", "esbuild"],
  alias: {
    "react-sso-kit": here("../src/react/index.ts"),
    "react-sso-kit/core": here("../src/core/index.ts"),
    "react-sso-kit/server": here("../src/server/index.ts"),
  },
  // Some peers ship CommonJS that calls require(); ESM output needs one to exist.
  banner: { js: 'import { createRequire as __benchRequire } from "node:module"; const require = __benchRequire(import.meta.url);' },
  logLevel: "warning",
});
const { main } = await import(pathToFileURL(`${outdir}main.mjs`).href);
process.exitCode = await main(process.argv.slice(2));
