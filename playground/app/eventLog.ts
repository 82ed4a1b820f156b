import type { AuthClient, AuthEvents } from "react-sso-kit";

export type EventName = keyof AuthEvents;

/** One line of the event log. Times are epoch milliseconds, like the SDK's. */
export interface EventEntry {
  readonly id: number;
  readonly at: number;
  readonly name: EventName;
  /** What the event said, as text: never a token. */
  readonly detail: string;
}

export interface EventLog {
  subscribe(listener: () => void): () => void;
  /** Newest first; a new array on every event. */
  getSnapshot(): readonly EventEntry[];
}

const MAX_LOG = 50;

const expiry = (expiresAt: number | undefined): string =>
  expiresAt === undefined ? "no expiry given" : `token valid for ${Math.round((expiresAt - Date.now()) / 1000)} s`;

/**
 * Every event of `client.on`, for the whole life of the page like the token tracker: "signedIn"
 * fires on /callback or during the restore at startup, before any card that shows it is mounted.
 */
export function createEventLog(client: AuthClient): EventLog {
  let entries: readonly EventEntry[] = [];
  const listeners = new Set<() => void>();
  let nextId = 1;

  function add(name: EventName, detail: string): void {
    entries = [{ id: nextId++, at: Date.now(), name, detail }, ...entries].slice(0, MAX_LOG);
    for (const listener of [...listeners]) listener();
  }

  client.on("signedIn", ({ user, expiresAt }) => add("signedIn", `sub ${user.sub ?? "unknown"}, ${expiry(expiresAt)}`));
  client.on("refreshed", ({ expiresAt }) => add("refreshed", expiry(expiresAt)));
  client.on("signedOut", () => add("signedOut", "session ended"));
  client.on("sessionExpired", ({ error }) => add("sessionExpired", `${error.code}: ${error.message}`));
  client.on("error", ({ error }) => add("error", `${error.code}: ${error.message}`));

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    getSnapshot: () => entries,
  };
}
