import type { AuthClient, AuthError } from "react-sso-kit";

/** One entry of the refresh log. Times are epoch milliseconds, like the SDK's. */
export interface RefreshEntry {
  readonly id: number;
  readonly at: number;
  readonly expiresAt: number | undefined;
}

/** What the access-token card renders. Immutable: a new object on every change. */
export interface TokenState {
  /** When the current access token expires; undefined when unknown or signed out. */
  readonly expiresAt: number | undefined;
  /** When that expiry was learnt, to draw how much of the token's lifetime is left. */
  readonly receivedAt: number | undefined;
  readonly refreshes: readonly RefreshEntry[];
  /** A token request that failed while the session went on (a transient refresh failure). */
  readonly lastError: AuthError | null;
}

export interface TokenTracker {
  subscribe(listener: () => void): () => void;
  getSnapshot(): TokenState;
}

const MAX_LOG = 50;

/**
 * Listens to the client for the whole life of the page, not of a component: "signedIn" fires
 * on /callback (or during the restore at startup), before the home page's card is mounted.
 */
export function createTokenTracker(client: AuthClient): TokenTracker {
  let state: TokenState = Object.freeze({ expiresAt: undefined, receivedAt: undefined, refreshes: [], lastError: null });
  const listeners = new Set<() => void>();
  let nextId = 1;

  function update(patch: Partial<TokenState>): void {
    state = Object.freeze({ ...state, ...patch });
    for (const listener of [...listeners]) listener();
  }

  client.on("signedIn", ({ expiresAt }) => update({ expiresAt, receivedAt: Date.now(), lastError: null }));
  client.on("refreshed", ({ expiresAt }) => {
    const at = Date.now();
    const refreshes = [...state.refreshes, { id: nextId++, at, expiresAt }].slice(-MAX_LOG);
    update({ expiresAt, receivedAt: at, lastError: null, refreshes });
  });
  client.on("signedOut", () => update({ expiresAt: undefined, receivedAt: undefined, lastError: null }));
  client.on("error", ({ error }) => {
    // Failed logins and callbacks are on the snapshot and in the page's alert already; only a
    // failure that leaves the session standing (a refresh that will be retried) belongs here.
    if (client.getSnapshot().status === "authenticated") update({ lastError: error });
  });

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    getSnapshot: () => state,
  };
}
