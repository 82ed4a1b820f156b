// The smallest app with react-oidc-context (over oidc-client-ts): provider, hook, guard.
import { AuthProvider, useAuth, withAuthenticationRequired } from "react-oidc-context";

const Profile = withAuthenticationRequired(function Profile() {
  const auth = useAuth();
  return <button onClick={() => console.log(auth.user?.access_token)}>{String(auth.user?.profile.name)}</button>;
});

export function App() {
  return (
    <AuthProvider authority="https://sso.example.com" client_id="app" redirect_uri={`${location.origin}/callback`} scope="openid profile offline_access">
      <Profile />
    </AuthProvider>
  );
}
