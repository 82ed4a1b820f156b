// react-oidc-context 3 over oidc-client-ts 3, configured as its README shows, with offline_access
// so that it renews with the refresh token.
import { AuthProvider, useAuth, withAuthenticationRequired } from "react-oidc-context";
import { Home, Report, SCOPE, config, homePath, mount, redirectUri } from "./harness.js";

function Probe() {
  const auth = useAuth();
  const status = auth.isAuthenticated ? "authenticated" : auth.error ? "error" : auth.isLoading ? "loading" : "unauthenticated";
  // react-oidc-context has no getAccessToken(): apps read user.access_token and renew an expired
  // one with signinSilent() (which uses the refresh token when there is one).
  const getToken = async () => {
    const user = auth.user;
    if (user && !user.expired) return user.access_token;
    const renewed = await auth.signinSilent();
    if (!renewed) throw new Error("signinSilent returned no user");
    return renewed.access_token;
  };
  return <Report status={status} getToken={getToken} error={auth.error} />;
}

const Guarded = withAuthenticationRequired(Home);

mount(
  <AuthProvider
    authority={config.issuer}
    client_id={config.clientId}
    redirect_uri={redirectUri}
    scope={SCOPE}
    onSigninCallback={() => window.history.replaceState({}, document.title, homePath)}
  >
    <Probe />
    <Guarded />
  </AuthProvider>,
);
