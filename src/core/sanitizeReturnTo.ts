/**
 * Returns `value` as a path on `origin` (`/path?query#hash`), or `"/"` when it is anything else:
 * another origin, a protocol-relative or backslash trick (`//evil`, `/\evil`), a scheme
 * (`javascript:`, `data:`, `https:evil`), an encoded form of those, or not a string.
 * An open redirect after login is a phishing tool, so anything unclear falls back to `/`.
 */
export function sanitizeReturnTo(value: unknown, origin: string): string {
  if (typeof value !== "string" || value === "" || value.length > 2048) return "/";
  // Browsers strip tabs and newlines and read "\" as "/": refuse them instead of guessing.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return "/";
  if (!value.startsWith("/") || value.startsWith("//")) return "/";
  let url: URL;
  try {
    url = new URL(value, origin);
  } catch {
    return "/";
  }
  if (url.origin !== origin) return "/";
  const path = url.pathname + url.search + url.hash;
  // Dot segments can normalise "/.//x" into "//x", which is protocol-relative again.
  if (path.startsWith("//") || /^\/%(?:2f|5c)/i.test(path)) return "/";
  return path;
}
