// react-sso from this repository's sources: public client (no proxy), or through the token proxy
// in cookie mode when the page's configuration names one.
import { Callback, OAuthProvider, RequireAuth, useAuth } from "react-sso-kit";
import { Home, Report, SCOPE, config, mount, redirectUri, usePath } from "./harness.js";

function Probe() {
  const { status, getAccessToken, error } = useAuth();
  return <Report status={status} getToken={() => getAccessToken()} error={error} />;
}

function App() {
  const path = usePath();
  return (
    <OAuthProvider config={{ authority: config.issuer, clientId: config.clientId, redirectUri, scope: SCOPE, tokenProxy: config.tokenProxy }}>
      <Probe />
      {path.endsWith("/callback") ? <Callback /> : <RequireAuth><Home /></RequireAuth>}
    </OAuthProvider>
  );
}

mount(<App />);
