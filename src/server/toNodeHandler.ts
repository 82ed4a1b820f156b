// Types only: importing this module must not load node:* (the same entry serves edge runtimes).
import type { IncomingMessage, ServerResponse } from "node:http";

/** A node:http request as Express and others hand it over, possibly with a body already parsed. */
type NodeRequest = IncomingMessage & { body?: unknown };

/** Methods the Fetch standard forbids in a `Request` (it throws), which Node's parser accepts. */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/** Bodies this small with a Content-Length are read at once: a Web stream costs more than the body. */
const SMALL_BODY = 64 * 1024;

/** Reads a small body whose length is declared (Node's parser delivers no more than that). */
async function readSmall(req: NodeRequest): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of req.iterator({ destroyOnReturn: false })) chunks.push(chunk as Uint8Array);
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The body as the Web handler reads it, and whether it streams from the socket. */
async function bodyOf(req: NodeRequest): Promise<{ body: BodyInit | undefined; streamed: boolean }> {
  if (req.method === "GET" || req.method === "HEAD" || FORBIDDEN_METHODS.has(req.method ?? "")) return { body: undefined, streamed: false };
  const declared = Number(req.headers["content-length"]);
  if (req.readable && !req.readableEnded && declared >= 0 && declared <= SMALL_BODY) {
    return { body: await readSmall(req), streamed: false };
  }
  // Still readable: nobody has read the body, so stream it. Otherwise a body parser
  // (express.urlencoded() and friends) consumed it, and its result is all there is.
  if (req.readable && !req.readableEnded) {
    // Node's fetch reads an async iterable body. A handler that stops reading early (a body over
    // its limit) must leave the socket alone, so that its answer still reaches the client.
    return { body: req.iterator({ destroyOnReturn: false }) as unknown as ReadableStream<Uint8Array>, streamed: true };
  }
  return { body: parsedBody(req), streamed: false };
}

function parsedBody(req: NodeRequest): BodyInit | undefined {
  const parsed = req.body;
  if (typeof parsed === "string") return parsed;
  // Raw bytes stay bytes, so the proxy's own UTF-8 check still applies.
  if (parsed instanceof Uint8Array) return new Blob([new Uint8Array(parsed)]);
  if (typeof parsed === "object" && parsed !== null) {
    const form = new URLSearchParams();
    // Repeated names come back as arrays and are re-sent repeated, so the proxy still refuses them.
    for (const [name, value] of Object.entries(parsed)) {
      for (const item of Array.isArray(value) ? value : [value]) form.append(name, String(item));
    }
    return form.toString();
  }
  return undefined;
}

/**
 * Adapts a Web-standard handler (such as {@link createTokenProxy}'s) to `node:http`, Express and
 * Fastify. The request URL is only informative: nothing in it, nor in `Host` or `X-Forwarded-*`,
 * changes where the proxy sends requests.
 */
export function toNodeHandler(
  handler: (request: Request) => Promise<Response>,
): (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => Promise<void> {
  return async (req, res, next) => {
    try {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined) continue;
        for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
      }
      const { body, streamed } = await bodyOf(req as NodeRequest);
      // A rebuilt body has its own length.
      if (!streamed) headers.delete("content-length");
      const forbidden = FORBIDDEN_METHODS.has(req.method ?? "");
      const request = new Request(new URL(req.url ?? "/", "http://localhost"), {
        method: forbidden ? "GET" : req.method,
        headers,
        body,
        // Required by Node's fetch for a streamed body.
        ...(streamed ? { duplex: "half" } : {}),
      } as RequestInit);
      // The handler still learns the real method, so that it refuses it properly (405, not an empty 500).
      if (forbidden) Object.defineProperty(request, "method", { value: req.method });
      const response = await handler(request);
      res.statusCode = response.status;
      // Whatever of the body the handler did not read is still on the socket: the next request
      // must not be parsed from it, so this connection ends with this answer.
      if (streamed && !req.readableEnded) res.setHeader("Connection", "close");
      for (const [name, value] of response.headers) {
        if (name !== "set-cookie") res.setHeader(name, value);
      }
      const cookies = response.headers.getSetCookie();
      if (cookies.length > 0) res.setHeader("Set-Cookie", cookies);
      res.end(new Uint8Array(await response.arrayBuffer()));
    } catch (err) {
      if (next) return next(err);
      res.statusCode = 500;
      res.end();
    }
  };
}
