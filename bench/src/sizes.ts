// Bundle cost: each SDK's smallest app (provider, hook, guard) bundled as an app ships it:
// esbuild, minified, ESM, browser, React external; then min, gzip -9 and brotli -11 bytes.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { build, transform, type Metafile } from "esbuild";
import { BENCH_DIR, ROOT_DIR } from "./common.js";

export interface SizeRow {
  name: string;
  what: string;
  min: number;
  gzip: number;
  brotli: number;
  /** Minified bytes by package (or by folder of this repository), largest first. */
  byPackage: Record<string, number>;
}

const REACT = ["react", "react-dom", "react/jsx-runtime", "react-dom/client"];

export const SIZE_ENTRIES: ReadonlyArray<{ name: string; what: string; entry: string; sdk: string }> = [
  { name: "react-sso app", what: "provider + useAuth + RequireAuth + Callback", entry: "src/sizes/reactSso.tsx", sdk: "react-sso" },
  { name: "react-sso-kit", what: "the whole React entry (src/react/index.ts)", entry: "../src/react/index.ts", sdk: "react-sso" },
  { name: "react-sso-kit/core", what: "the whole core entry (src/core/index.ts)", entry: "../src/core/index.ts", sdk: "react-sso" },
  { name: "react-oidc-context", what: "AuthProvider + useAuth + withAuthenticationRequired", entry: "src/sizes/oidcContext.tsx", sdk: "react-oidc-context" },
  { name: "@auth0/auth0-react", what: "Auth0Provider + useAuth0 + withAuthenticationRequired", entry: "src/sizes/auth0.tsx", sdk: "auth0-react" },
  { name: "@axa-fr/react-oidc", what: "OidcProvider + useOidc + useOidcAccessToken + OidcSecure", entry: "src/sizes/axa.tsx", sdk: "axa" },
  { name: "react-oauth2-code-pkce", what: "AuthProvider + AuthContext (+ a 3-line guard)", entry: "src/sizes/codePkce.tsx", sdk: "code-pkce" },
];

const compress = (bytes: Uint8Array) => ({
  gzip: gzipSync(bytes, { level: 9 }).length,
  brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }).length,
});

function byPackage(metafile: Metafile): Record<string, number> {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
      const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
      const key = inModules ? inModules[1] as string : /(?:^|\/)src\/[^/]+/.exec(file.replace(/^(\.\.\/)+/, ""))?.[0] ?? file;
      totals.set(key, (totals.get(key) ?? 0) + bytesInOutput);
    }
  }
  return Object.fromEntries([...totals].sort((a, b) => b[1] - a[1]));
}

export async function measureSizes(sdks: ReadonlySet<string>): Promise<SizeRow[]> {
  const rows: SizeRow[] = [];
  for (const { name, what, entry, sdk } of SIZE_ENTRIES) {
    if (!sdks.has(sdk)) continue;
    const result = await build({
      entryPoints: [join(BENCH_DIR, entry)],
      absWorkingDir: BENCH_DIR,
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      jsx: "automatic",
      external: REACT,
      define: { "process.env.NODE_ENV": '"production"' },
      alias: { "react-sso-kit": join(ROOT_DIR, "src/react/index.ts") },
      metafile: true,
      write: false,
      logLevel: "silent",
    });
    const output = result.outputFiles[0];
    if (!output) throw new Error(`esbuild produced nothing for ${entry}`);
    rows.push({ name, what, min: output.contents.length, ...compress(output.contents), byPackage: byPackage(result.metafile) });
  }
  if (sdks.has("axa")) {
    // Served as a file of its own and run in the service worker, not in the page's bundle.
    const script = await readFile(join(BENCH_DIR, "node_modules/@axa-fr/oidc-client-service-worker/dist/OidcServiceWorker.js"), "utf8");
    const min = new TextEncoder().encode((await transform(script, { minify: true, loader: "js" })).code);
    rows.push({ name: "@axa-fr service worker", what: "OidcServiceWorker.js, minified here (a separate file, not in the bundle)", min: min.length, ...compress(min), byPackage: {} });
  }
  return rows;
}
