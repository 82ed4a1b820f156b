// The smallest app with @auth0/auth0-react (over auth0-spa-js): provider, hook, guard.
import { Auth0Provider, useAuth0, withAuthenticationRequired } from "@auth0/auth0-react";

const Profile = withAuthenticationRequired(function Profile() {
  const { user, getAccessTokenSilently } = useAuth0();
  return <button onClick={() => void getAccessTokenSilently().then(console.log)}>{String(user?.name)}</button>;
});

export function App() {
  return (
    <Auth0Provider domain="sso.example.com" clientId="app" useRefreshTokens authorizationParams={{ redirect_uri: `${location.origin}/callback`, scope: "openid profile offline_access" }}>
      <Profile />
    </Auth0Provider>
  );
}
