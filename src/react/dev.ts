// Module-scoped so that the library's types never depend on @types/node.
declare const process: { env: Record<string, string | undefined> };

/**
 * True outside production builds. Bundlers replace `process.env.NODE_ENV`; where nothing does,
 * `process` may not exist at all, and no warnings are shown.
 */
export const DEV: boolean = (() => {
  try {
    return process.env.NODE_ENV !== "production";
  } catch {
    return false;
  }
})();
