"use client";
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { createAuthClient, type AuthClient, type AuthConfig, type AuthEvents } from "../core/index.js";
import { AuthContext, type AuthContextValue } from "./AuthContext.js";

/** Props of {@link OAuthProvider}: give it a `config` (it creates the client) or a `client` you created. */
export type OAuthProviderProps = (
  | {
      /** Read once, when the provider mounts: later changes are ignored (a new literal on every render is fine). */
      config: AuthConfig;
      client?: never;
    }
  | {
      /** A client from `createAuthClient`, e.g. to share it with code outside React. */
      client: AuthClient;
      config?: never;
    }
) & {
  /**
   * In-app navigation, used by `<Callback>` to return to `returnTo`. Pass your router's, e.g.
   * `(to) => navigate(to, { replace: true })` with React Router.
   * @default history.replaceState(null, "", to) followed by a popstate event, which routers listen to
   */
  navigate?: ((to: string) => void) | undefined;
  /** A session began (login, restore, or another tab). */
  onSignedIn?: ((event: AuthEvents["signedIn"]) => void) | undefined;
  /** The access token was refreshed. */
  onRefreshed?: ((event: AuthEvents["refreshed"]) => void) | undefined;
  /** The session ended, whatever the reason. */
  onSignedOut?: ((event: AuthEvents["signedOut"]) => void) | undefined;
  /** The IdP refused a refresh: the session is over in every tab. */
  onSessionExpired?: ((event: AuthEvents["sessionExpired"]) => void) | undefined;
  /** A login, callback or refresh failed. */
  onError?: ((event: AuthEvents["error"]) => void) | undefined;
  children?: ReactNode | undefined;
};

const EVENTS: ReadonlyArray<keyof AuthEvents> = ["signedIn", "refreshed", "signedOut", "sessionExpired", "error"];

function historyNavigate(to: string): void {
  window.history.replaceState(null, "", to);
  window.dispatchEvent(new PopStateEvent("popstate", { state: null }));
}

/** Owns one {@link AuthClient} for the life of the app and gives it to `useAuth()`, `<RequireAuth>` and `<Callback>`. */
export function OAuthProvider(props: OAuthProviderProps): ReactNode {
  const [[client, owned]] = useState<[AuthClient, boolean]>(() => {
    if (props.client) return [props.client, false];
    if (!props.config) throw new Error("react-sso: <OAuthProvider> needs a config={…} or a client={…} prop.");
    return [createAuthClient(props.config), true];
  });
  // The client this provider created goes with it; one passed in belongs to the app. Disposal waits
  // a microtask, so that StrictMode's unmount-and-mount again keeps the one live client.
  const mounted = useRef(0);
  useEffect(() => {
    mounted.current++;
    return () => {
      mounted.current--;
      if (owned) queueMicrotask(() => mounted.current || client.dispose());
    };
  }, [client, owned]);

  // The latest props, without making the context value change or listeners re-subscribe on every render.
  const latest = useRef(props);
  useEffect(() => {
    latest.current = props;
  });
  useEffect(() => {
    // "signedIn" calls the onSignedIn prop, and so on.
    const offs = EVENTS.map((event) =>
      client.on(event, (payload) => {
        const prop = `on${event[0]?.toUpperCase()}${event.slice(1)}` as "onSignedIn";
        (latest.current[prop] as ((p: typeof payload) => void) | undefined)?.(payload);
      }),
    );
    return () => offs.forEach((off) => off());
  }, [client]);
  const value = useMemo<AuthContextValue>(
    () => ({ client, navigate: (to) => (latest.current.navigate ?? historyNavigate)(to) }),
    [client],
  );
  return <AuthContext.Provider value={value}>{props.children}</AuthContext.Provider>;
}
