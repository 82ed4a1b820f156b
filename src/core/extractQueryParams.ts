/** Parameters of one part of a URL (query or fragment), with the names that appeared more than once. */
export interface ParsedParams {
  params: Map<string, string>;
  duplicates: string[];
}

function parsePart(part: string): ParsedParams {
  const params = new Map<string, string>();
  const duplicates: string[] = [];
  for (const [name, value] of new URLSearchParams(part)) {
    if (params.has(name)) {
      if (!duplicates.includes(name)) duplicates.push(name);
      continue;
    }
    params.set(name, value);
  }
  return { params, duplicates };
}

/** Reads the query (`?…`) or the fragment (`#…`) of a URL. */
export function readParams(url: string | URL, from: "query" | "fragment"): ParsedParams {
  const parsed = typeof url === "string" ? new URL(url, "http://invalid.invalid") : url;
  return parsePart(from === "query" ? parsed.search : parsed.hash.slice(1));
}

/**
 * The decoded parameters of a URL's query and fragment together. When a name appears more than
 * once, the first occurrence wins (query before fragment).
 *
 * @example extractQueryParams("https://app.example/cb?code=abc&state=xyz") // { code: "abc", state: "xyz" }
 */
export function extractQueryParams(url: string | URL): Record<string, string> {
  const merged = new Map<string, string>();
  for (const from of ["query", "fragment"] as const) {
    for (const [name, value] of readParams(url, from).params) {
      if (!merged.has(name)) merged.set(name, value);
    }
  }
  // fromEntries defines own properties, so names like "__proto__" stay plain data.
  return Object.fromEntries(merged);
}
