/** One request made through the client's `fetch`: its method, where it went and what came back, never a header or a body. */
export interface RequestEntry {
  readonly id: number;
  readonly at: number;
  readonly method: string;
  /** The path for the app's own origin (the API, the token proxy), else origin and path. */
  readonly url: string;
  /** The HTTP status, or "failed" when no answer came. */
  readonly status: number | "failed";
  /** The `error` of a `WWW-Authenticate: Bearer …` challenge, e.g. `invalid_token`. */
  readonly challenge: string | undefined;
}

export interface RequestLog {
  /**
   * Passed to `createAuthClient` as its `fetch`: every request the SDK makes goes through it,
   * `authFetch`'s included, and is recorded once answered. The app may send its own requests
   * through it too, to see them in order with the SDK's.
   */
  readonly fetch: typeof fetch;
  /** The id the next entry will have: a card remembers it to show what happened since. */
  nextId(): number;
  subscribe(listener: () => void): () => void;
  /** Oldest first; a new array on every entry. */
  getSnapshot(): readonly RequestEntry[];
}

const MAX_LOG = 100;

function where(input: RequestInfo | URL): { method: string | undefined; url: string } {
  const href = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  const url = new URL(href, location.href);
  // No query: it could carry a code or a token.
  return { method: input instanceof Request ? input.method : undefined, url: url.origin === location.origin ? url.pathname : url.origin + url.pathname };
}

export function createRequestLog(): RequestLog {
  let entries: readonly RequestEntry[] = [];
  const listeners = new Set<() => void>();
  let nextId = 1;

  function add(entry: Omit<RequestEntry, "id" | "at">): void {
    entries = [...entries, { ...entry, id: nextId++, at: Date.now() }].slice(-MAX_LOG);
    for (const listener of [...listeners]) listener();
  }

  const logged: typeof fetch = async (input, init) => {
    const target = where(input);
    const method = (init?.method ?? target.method ?? "GET").toUpperCase();
    let response: Response;
    try {
      response = await globalThis.fetch(input, init);
    } catch (err) {
      add({ method, url: target.url, status: "failed", challenge: undefined });
      throw err;
    }
    const challenge = /^bearer\b[^]*?\berror="?([\w-]+)/i.exec(response.headers.get("www-authenticate") ?? "")?.[1];
    add({ method, url: target.url, status: response.status, challenge });
    return response;
  };

  return {
    fetch: logged,
    nextId: () => nextId,
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    getSnapshot: () => entries,
  };
}
