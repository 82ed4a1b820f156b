import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Everything the package depends on stays an import: the app's bundler dedupes it.
const external = [/^react($|\/)/, /^react-dom($|\/)/, "oauth4webapi", "jose", /^node:/];

/**
 * The package's own names, resolved to its sources: tests and the playground import
 * "react-sso-kit", "react-sso-kit/core" and "react-sso-kit/server" exactly as apps do.
 */
const selfAlias = [
  { find: /^react-sso-kit$/, replacement: fileURLToPath(new URL("./src/react/index.ts", import.meta.url)) },
  { find: /^react-sso-kit\/core$/, replacement: fileURLToPath(new URL("./src/core/index.ts", import.meta.url)) },
  { find: /^react-sso-kit\/server$/, replacement: fileURLToPath(new URL("./src/server/index.ts", import.meta.url)) },
];

export default defineConfig({
  resolve: { alias: selfAlias },
  oxc: { jsx: { runtime: "automatic" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: true,
    minify: false,
    target: "es2022",
    lib: {
      entry: { index: "src/react/index.ts", core: "src/core/index.ts", server: "src/server/index.ts" },
      formats: ["es"],
    },
    rolldownOptions: {
      external,
      // The directive is re-added by the banner below; the per-file warnings are expected noise.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
      output: {
        // React Server Components need the directive on the React entry; bundling drops it from modules.
        banner: (chunk) => (chunk.name === "index" ? '"use client";' : ""),
        chunkFileNames: "shared/[name]-[hash].js",
      },
    },
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.{ts,tsx}"],
          environment: "jsdom",
          setupFiles: ["test/support/nodeRealm.ts"],
          benchmark: { include: ["test/bench/**/*.bench.ts"] },
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.{ts,tsx}"],
          environment: "jsdom",
          environmentOptions: { jsdom: { url: "http://localhost:3000/" } },
          globalSetup: ["test/support/globalSetup.ts"],
          setupFiles: ["test/support/nodeRealm.ts"],
          // One IdP serves every file, and tests count the requests it sees.
          fileParallelism: false,
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
