// Renders per refresh: 100 components that only take the token function, three refreshes,
// react-sso against react-oidc-context, in jsdom against the stub IdP (React's development build,
// without StrictMode, so that one render is counted once).
import { childMain } from "./common.js";
import { installDom } from "./dom.js";
import { CLIENT_ID } from "./rendersShared.js";
import { startStubIdp } from "./stubIdp.js";

export interface RenderCount {
  sdk: string;
  components: number;
  refreshes: number;
  /** Renders of the 100 components during the refreshes (after the first render). */
  renders: number;
  /** Refresh requests the stub IdP answered: proof that each refresh happened. */
  refreshRequests: number;
}

async function run(options: { sdks: string[] }): Promise<RenderCount[]> {
  installDom("http://localhost:3000/");
  const stub = await startStubIdp({ clientId: CLIENT_ID, idTokens: "signed", anyCode: true });
  try {
    // Loaded after the DOM exists: react-dom decides at import time whether it runs in a browser.
    const { measureRenders } = await import("./rendersApp.js");
    const counts: RenderCount[] = [];
    for (const sdk of options.sdks) counts.push(await measureRenders(sdk, stub));
    return counts;
  } finally {
    await stub.close();
  }
}

if (process.send) await childMain(() => run(JSON.parse(process.argv[2] ?? "{}") as { sdks: string[] }));
