// react-oauth2-code-pkce 1 with its defaults (localStorage, autoLogin), endpoints given
// explicitly as it requires (it reads no discovery document).
import { useContext, useEffect, useRef } from "react";
import { AuthContext, AuthProvider, type IAuthContext } from "react-oauth2-code-pkce";
import { Home, Report, SCOPE, config, homePath, mount, redirectUri } from "./harness.js";

/** The access token's expiry as the SDK stores it (epoch seconds); the context does not expose it. */
const expiresAt = () => Number(window.localStorage.getItem("ROCP_tokenExpire") ?? "0") * 1000;

function Probe() {
  const auth = useContext<IAuthContext>(AuthContext);
  const latest = useRef(auth);
  latest.current = auth;
  const waiters = useRef(new Set<() => void>());
  useEffect(() => {
    for (const wake of waiters.current) wake();
    waiters.current.clear();
  }, [auth.token]);
  const status = auth.token ? "authenticated" : auth.error ? "error" : "loading";
  // Its equivalent of getAccessToken(): the context's token, refreshed with refreshAccessToken()
  // once it has expired; the new token arrives as React state.
  const getToken = async () => {
    if (expiresAt() > Date.now()) return latest.current.token;
    const before = latest.current.token;
    const changed = new Promise<void>((resolve) => waiters.current.add(resolve));
    await (latest.current.refreshAccessToken as () => Promise<void>)();
    if (latest.current.token === before) await changed;
    return latest.current.token;
  };
  return <Report status={status} getToken={getToken} error={auth.error} />;
}

function Guard() {
  const { token } = useContext<IAuthContext>(AuthContext);
  return token ? <Home /> : null;
}

mount(
  <AuthProvider
    authConfig={{
      clientId: config.clientId,
      authorizationEndpoint: `${config.issuer}/auth`,
      tokenEndpoint: `${config.issuer}/token`,
      redirectUri,
      scope: SCOPE,
      postLogin: () => window.history.replaceState(null, "", homePath),
    }}
  >
    <Probe />
    <Guard />
  </AuthProvider>,
);
