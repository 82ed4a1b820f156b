// @auth0/auth0-react 2 with refresh tokens (useRefreshTokens) and its default in-memory cache,
// talking to the local IdP through an Auth0-shaped front (auth0-spa-js only knows Auth0's paths).
import { Auth0Provider, useAuth0, withAuthenticationRequired } from "@auth0/auth0-react";
import { Home, Report, SCOPE, config, homePath, mount, redirectUri } from "./harness.js";

function Probe() {
  const { isAuthenticated, isLoading, error, getAccessTokenSilently } = useAuth0();
  const status = isAuthenticated ? "authenticated" : error ? "error" : isLoading ? "loading" : "unauthenticated";
  const getToken = async () => {
    const token = await getAccessTokenSilently();
    if (!token) throw new Error("getAccessTokenSilently returned no token");
    return token;
  };
  return <Report status={status} getToken={getToken} error={error} />;
}

const Guarded = withAuthenticationRequired(Home);

mount(
  <Auth0Provider
    domain={config.auth0Domain ?? ""}
    clientId={config.clientId}
    useRefreshTokens
    authorizationParams={{ redirect_uri: redirectUri, scope: SCOPE }}
    onRedirectCallback={() => window.history.replaceState({}, document.title, homePath)}
  >
    <Probe />
    <Guarded />
  </Auth0Provider>,
);
