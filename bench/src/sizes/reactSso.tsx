// The smallest app that signs a user in with react-sso: provider, hook, guard, and the callback
// route (react-sso completes the login there; the peers do it inside their provider).
import { Callback, OAuthProvider, RequireAuth, useAuth } from "react-sso-kit";

function Profile() {
  const { user, getAccessToken } = useAuth();
  return <button onClick={() => void getAccessToken().then(console.log)}>{String(user?.claims.name)}</button>;
}

export function App() {
  return (
    <OAuthProvider config={{ authority: "https://sso.example.com", clientId: "app", redirectUri: `${location.origin}/callback`, scope: "openid profile offline_access" }}>
      {location.pathname === "/callback" ? <Callback /> : <RequireAuth><Profile /></RequireAuth>}
    </OAuthProvider>
  );
}
