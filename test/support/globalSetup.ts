// vitest globalSetup for the integration project. It runs in vitest's own Node
// process, which is the point: the IdP must not live inside the jsdom test
// environment (jsdom's Uint8Array/ArrayBuffer break jose within oidc-provider).
// Tests reach both servers over HTTP using the injected URLs.
// Loads the "vitest" module into the program so the augmentation below resolves.
import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, startIdp } from "./idp.js";
import { startRelay } from "./relay.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>` of the oidc-provider test IdP. */
    idpIssuer: string;
    /** Token relay that authenticates as the confidential client (client_secret_basic). */
    relayUrl: string;
  }
}

export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  const idp = await startIdp();
  const relay = await startRelay({
    tokenEndpoint: idp.endpoints.token,
    clientId: CONFIDENTIAL_CLIENT_ID,
    clientSecret: CONFIDENTIAL_CLIENT_SECRET,
  }).catch(async (error: unknown) => {
    await idp.close();
    throw error;
  });

  provide("idpIssuer", idp.issuer);
  provide("relayUrl", relay.url);

  return async () => {
    await relay.close();
    await idp.close();
  };
}
