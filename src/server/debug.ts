/**
 * Where react-sso-kit/server reports its requests to the identity provider, one line each
 * (method, endpoint, status, milliseconds): a function of yours, `true` for stderr, `false` for
 * nothing. Left unset, the environment variable `DEBUG=react-sso` turns the stderr lines on, as
 * `DEBUG=simple-oauth2` does for simple-oauth2. Tokens, secrets, codes and passwords never appear
 * in these lines: they show no body and no query string.
 */
export type DebugOption = boolean | ((line: string) => void);

/** Receives one finished line. */
export type DebugSink = (line: string) => void;

const NAMESPACES = ["react-sso", "react-sso:server"];

/**
 * `DEBUG`, read without importing node:process: edge runtimes and workers have no `process`, and
 * Deno may refuse access to the environment.
 */
function debugVariable(): string | undefined {
  try {
    const value = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.DEBUG;
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a `DEBUG` value selects react-sso, with the `debug` package's rules: names separated
 * by commas or spaces, `*` as a wildcard, and a leading `-` excluding (exclusions win).
 */
export function debugSelected(value: string | undefined): boolean {
  let selected = false;
  for (const name of (value ?? "").split(/[\s,]+/)) {
    if (name === "" || name === "-") continue;
    const excluded = name.startsWith("-");
    const source = (excluded ? name.slice(1) : name).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
    const pattern = new RegExp(`^${source}$`);
    if (!NAMESPACES.some((namespace) => pattern.test(namespace))) continue;
    if (excluded) return false;
    selected = true;
  }
  return selected;
}

/** The sink an option stands for; the environment is read here, when a client or verifier is created. */
export function resolveDebug(option: DebugOption | undefined): DebugSink | undefined {
  if (typeof option === "function") return option;
  if (option === false) return undefined;
  if (option === true || debugSelected(debugVariable())) return (line) => console.error(line);
  return undefined;
}

/**
 * A URL as it may be logged: scheme, host, port and path. The query and fragment can carry codes
 * or tokens, and userinfo a password, so none of them is kept.
 */
export function loggableEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return "(not a URL)";
  }
}

/** `react-sso POST https://sso.example.com/oauth/token 200 35ms` */
export function debugLine(method: string, url: string, outcome: number | "timeout" | "failed", milliseconds: number): string {
  return `react-sso ${method.toUpperCase()} ${loggableEndpoint(url)} ${outcome} ${Math.round(milliseconds)}ms`;
}

/** `fetch` that reports each request to `sink` once it is answered or has failed. */
export function tracedFetch(doFetch: typeof fetch, sink: DebugSink | undefined): typeof fetch {
  if (!sink) return doFetch;
  const emit = (line: string) => {
    try {
      sink(line);
    } catch {
      // A failing logger must not fail the request it logs.
    }
  };
  return async (input, init) => {
    const url = typeof input === "string" ? input : "href" in input ? input.href : input.url;
    const method = init?.method ?? (typeof input === "object" && "method" in input ? input.method : "GET");
    const started = performance.now();
    try {
      const response = await doFetch(input, init);
      emit(debugLine(method, url, response.status, performance.now() - started));
      return response;
    } catch (err) {
      emit(debugLine(method, url, (err as { name?: unknown } | null)?.name === "TimeoutError" ? "timeout" : "failed", performance.now() - started));
      throw err;
    }
  };
}
