// @axa-fr/react-oidc 7, without or with its service worker (which then keeps the tokens and
// hands the page placeholders).
import { OidcClient, OidcProvider, OidcSecure, useOidc } from "@axa-fr/react-oidc";
import { Home, Report, SCOPE, config, mount, redirectUri } from "./harness.js";

function Probe() {
  const { isAuthenticated } = useOidc();
  // Its equivalent of getAccessToken(): waits for a valid token, renewing it when needed.
  const getToken = async () => {
    const client = OidcClient.get();
    if (!client) throw new Error("OidcClient.get(): no client");
    const { isTokensValid, tokens } = await client.getValidTokenAsync();
    if (!isTokensValid || !tokens) throw new Error("getValidTokenAsync: no valid tokens");
    return tokens.accessToken;
  };
  return <Report status={isAuthenticated ? "authenticated" : "loading"} getToken={getToken} />;
}

mount(
  <OidcProvider
    configuration={{
      client_id: config.clientId,
      redirect_uri: redirectUri,
      scope: SCOPE,
      authority: config.issuer,
      ...(config.serviceWorker && { service_worker_relative_url: `${config.base}/OidcServiceWorker.js`, service_worker_only: true }),
    }}
  >
    <Probe />
    <OidcSecure>
      <Home />
    </OidcSecure>
  </OidcProvider>,
);
