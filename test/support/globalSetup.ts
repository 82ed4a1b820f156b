// vitest globalSetup for the integration project. It runs in vitest's own Node process, which is
// the point: the IdP must not live inside the jsdom test environment (jsdom's Uint8Array and
// ArrayBuffer break jose within oidc-provider). Tests reach the servers over HTTP.
// Loads the "vitest" module into the program so the augmentation below resolves.
import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { startBackend } from "../../playground/backend.js";
import { CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, REDIRECT_URI, startIdp } from "../../playground/idp.js";

/** The origin the jsdom "browser" runs on (vite.config.ts sets jsdom's URL to it). */
export const APP_ORIGIN = "http://localhost:3000";

declare module "vitest" {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>` of the oidc-provider test IdP. */
    idpIssuer: string;
    /** The real token proxy (react-sso-kit/server, cookie mode) for the confidential client. */
    proxyUrl: string;
  }
}

export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  const idp = await startIdp();
  const backend = await startBackend({
    issuer: idp.issuer,
    clientId: CONFIDENTIAL_CLIENT_ID,
    clientSecret: CONFIDENTIAL_CLIENT_SECRET,
    appOrigins: [APP_ORIGIN],
    redirectUris: [REDIRECT_URI],
    cookieSecret: "integration-tests-cookie-secret-0123456789",
  }).catch(async (error: unknown) => {
    await idp.close();
    throw error;
  });

  provide("idpIssuer", idp.issuer);
  provide("proxyUrl", `${backend.url}/auth/token`);

  return async () => {
    await backend.close();
    await idp.close();
  };
}
