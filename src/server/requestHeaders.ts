/** Headers as Web `Request`s carry them (anything with `get`). */
export interface HeaderGetter {
  get(name: string): string | null;
}

/** Headers as node:http, Express and Fastify carry them: a record, lower-case names in Node, any case here. */
export interface HeaderRecord {
  readonly [name: string]: string | readonly string[] | undefined;
}

/**
 * What {@link TokenVerifier.verify} reads a request from: a Web `Request` (Hono's `c.req.raw`,
 * Next.js, workers), a node:http `IncomingMessage` (Express, Connect, Fastify's `request.raw`), or
 * anything with `headers` — Fastify's and Koa's own request objects included. `url`, when there
 * is one, is only read to refuse a token sent in the query string.
 */
export interface RequestLike {
  readonly headers: HeaderGetter | HeaderRecord;
  readonly url?: string | undefined;
}

/** Every value of header `name` (lower-case) in `request`; empty when it is absent. */
export function headerValues(request: RequestLike, name: string): string[] {
  const headers = request.headers;
  if (typeof headers !== "object" || headers === null) return [];
  if (typeof (headers as HeaderGetter).get === "function") {
    const value = (headers as HeaderGetter).get(name);
    return value === null ? [] : [value];
  }
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers as HeaderRecord)) {
    if (key.toLowerCase() !== name) continue;
    for (const item of Array.isArray(value) ? value : [value]) if (typeof item === "string") values.push(item);
  }
  return values;
}

/** Whether the request URL's query names `parameter` (a relative node:http URL or an absolute Web one). */
export function queryHas(request: RequestLike, parameter: string): boolean {
  const url = request.url;
  if (typeof url !== "string") return false;
  try {
    return new URL(url, "http://localhost").searchParams.has(parameter);
  } catch {
    return false;
  }
}
