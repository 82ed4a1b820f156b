// The smallest app with @axa-fr/react-oidc: provider, hooks, guard. Its service worker mode adds
// a separate script (OidcServiceWorker.js), measured on its own row.
import { OidcProvider, OidcSecure, useOidc, useOidcAccessToken } from "@axa-fr/react-oidc";

function Profile() {
  const { isAuthenticated } = useOidc();
  const { accessToken } = useOidcAccessToken();
  return <button onClick={() => console.log(accessToken)}>{String(isAuthenticated)}</button>;
}

export function App() {
  return (
    <OidcProvider configuration={{ authority: "https://sso.example.com", client_id: "app", redirect_uri: `${location.origin}/callback`, scope: "openid profile offline_access" }}>
      <OidcSecure><Profile /></OidcSecure>
    </OidcProvider>
  );
}
