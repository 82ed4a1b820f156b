// `npm run playground`: Node 20 cannot run TypeScript, so esbuild (already a dev dependency)
// compiles the launcher into node_modules/.cache first; packages stay external imports.
import { build } from "esbuild";
import { fileURLToPath, pathToFileURL } from "node:url";

const outfile = fileURLToPath(new URL("../node_modules/.cache/react-sso-playground/start.mjs", import.meta.url));
await build({
  entryPoints: [fileURLToPath(new URL("./start.ts", import.meta.url))],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  // The backend imports "react-sso-kit/server" like any app; here that name is this repository's source.
  alias: { "react-sso-kit/server": fileURLToPath(new URL("../src/server/index.ts", import.meta.url)) },
  logLevel: "warning",
});
process.env.REACT_SSO_PLAYGROUND_DIR = fileURLToPath(new URL(".", import.meta.url));
const { main } = await import(pathToFileURL(outfile).href);
await main();
