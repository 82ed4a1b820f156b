// The smallest app with react-oauth2-code-pkce: provider and context hook. It has no guard
// component: with autoLogin (the default) the provider itself redirects, so the guard is a check.
import { useContext, type ReactNode } from "react";
import { AuthContext, AuthProvider, type IAuthContext } from "react-oauth2-code-pkce";

function Guard({ children }: { children: ReactNode }) {
  const { token } = useContext<IAuthContext>(AuthContext);
  return token ? children : null;
}

function Profile() {
  const { tokenData, token } = useContext<IAuthContext>(AuthContext);
  return <button onClick={() => console.log(token)}>{String(tokenData?.sub)}</button>;
}

export function App() {
  return (
    <AuthProvider
      authConfig={{
        clientId: "app",
        authorizationEndpoint: "https://sso.example.com/auth",
        tokenEndpoint: "https://sso.example.com/token",
        redirectUri: `${location.origin}/callback`,
        scope: "openid profile offline_access",
      }}
    >
      <Guard><Profile /></Guard>
    </AuthProvider>
  );
}
