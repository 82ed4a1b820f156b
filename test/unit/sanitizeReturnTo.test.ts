import { describe, expect, it } from "vitest";
import { sanitizeReturnTo } from "../../src/core/sanitizeReturnTo.js";

const ORIGIN = "http://localhost:3000";

/** A readable, one-line test name for any input (control characters escaped, long strings cut). */
function label(value: unknown): string {
  if (typeof value === "string") {
    return value.length > 60 ? `${JSON.stringify(value.slice(0, 12))}… (${value.length} chars)` : JSON.stringify(value);
  }
  if (typeof value === "symbol" || typeof value === "function" || value === undefined) return String(value);
  if (value instanceof URL) return `URL ${value.href}`;
  return JSON.stringify(value) ?? String(value);
}

describe("sanitizeReturnTo keeps same-origin paths", () => {
  it.each([
    ["/", "/"],
    ["/account", "/account"],
    ["/account/orders?page=2&sort=desc", "/account/orders?page=2&sort=desc"],
    ["/account#billing", "/account#billing"],
    ["/a/b?x=1#h", "/a/b?x=1#h"],
    ["/search?q=a%20b", "/search?q=a%20b"],
    ["/?next=//evil.example", "/?next=//evil.example"],
    ["/#//evil.example", "/#//evil.example"],
  ])("%s → %s", (input, expected) => {
    expect(sanitizeReturnTo(input, ORIGIN)).toBe(expected);
  });

  it.each([
    ["/a/../b", "/b"],
    ["/./a", "/a"],
    ["/a/./b/", "/a/b/"],
    ["/a/b/../../c?x#y", "/c?x#y"],
    ["/../../etc", "/etc"],
  ])("normalises dot segments: %s → %s", (input, expected) => {
    expect(sanitizeReturnTo(input, ORIGIN)).toBe(expected);
  });
});

describe("sanitizeReturnTo falls back to /", () => {
  it.each([
    "https://evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "/.//evil.example",
    "/..//evil.example",
    "/a/..//evil.example",
    "/%2e%2e//evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,x",
    "http://localhost:3000.evil.example/",
    "http://localhost:3000@evil.example/",
    "/\t/evil.example",
    "/\n/evil.example",
    "account",
    "",
    "/" + "a".repeat(5000),
  ].map((input) => [label(input), input]))("for %s", (_label, input) => {
    expect(sanitizeReturnTo(input, ORIGIN)).toBe("/");
  });

  it.each([null, undefined, 1, {}, [], ["/account"], true, () => "/account"].map((input) => [label(input), input]))("for a non-string: %s", (_label, input) => {
    expect(sanitizeReturnTo(input, ORIGIN)).toBe("/");
  });

  it("for an absolute URL, even on the same origin (only paths are accepted)", () => {
    expect(sanitizeReturnTo("http://localhost:3000/account", ORIGIN)).toBe("/");
  });
});

/** Inputs built to trick a URL parser into another origin: none of them may get out. */
const NASTY: unknown[] = [
  "https://evil.example",
  "http://evil.example",
  "//evil.example",
  "///evil.example",
  "////evil.example",
  "/\\evil.example",
  "\\/evil.example",
  "\\\\evil.example",
  "/\\/evil.example",
  "https:evil.example",
  "https:/evil.example",
  "https:\\\\evil.example",
  "%2F%2Fevil.example",
  "/%2F%2Fevil.example",
  "/%2f%2fevil.example",
  "/%5C%5Cevil.example",
  "/%5cevil.example",
  "%5C%5Cevil.example",
  "/.//evil.example",
  "/./\\evil.example",
  "/..//evil.example",
  "/../..//evil.example",
  "/a/..//evil.example",
  "/%2e//evil.example",
  "/%2e%2e//evil.example",
  "/%2E%2E/%2E%2E//evil.example",
  "/\t/evil.example",
  "/\n/evil.example",
  "/\r/evil.example",
  "/\t\t/evil.example",
  "/\r\n/evil.example",
  "\t//evil.example",
  " //evil.example",
  "\n//evil.example",
  "/ /evil",
  "/ /evil.example",
  "/\u0000/evil.example",
  "/\u007f/evil.example",
  "/\u3000/evil.example",
  "/\uff0f/evil.example",
  "/%E3%80%80/evil.example",
  "/%09/evil.example",
  "/%0a/evil.example",
  "/..%2F..%2Fevil.example",
  "/;//evil.example",
  "/@evil.example",
  "/:@evil.example",
  "javascript:alert(1)",
  "JaVaScRiPt:alert(1)",
  "java\tscript:alert(1)",
  " javascript:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "vbscript:msgbox(1)",
  "blob:http://evil.example/x",
  "file:///etc/passwd",
  "http://localhost:3000.evil.example/",
  "http://localhost:3000@evil.example/",
  "http://evil.example#http://localhost:3000/",
  "http://evil.example?http://localhost:3000/",
  "http://localhost:3001/",
  "https://localhost:3000/",
  "//localhost:3000@evil.example",
  "/" + "/".repeat(3000) + "evil.example",
  "/" + "a".repeat(100_000),
  "",
  " ",
  null,
  undefined,
  1,
  0,
  Number.NaN,
  {},
  [],
  { toString: () => "//evil.example" },
  new URL("https://evil.example"),
  Symbol("x"),
];

describe("sanitizeReturnTo never leaves the origin", () => {
  it.each(NASTY.map((input) => [label(input), input]))("for %s", (_label, input) => {
    const result = sanitizeReturnTo(input, ORIGIN);
    expect(typeof result).toBe("string");
    expect(result.startsWith("/")).toBe(true);
    expect(new URL(result, ORIGIN).origin).toBe(ORIGIN);
    // Relative to a page deeper in the app too, as a router would resolve it.
    expect(new URL(result, `${ORIGIN}/deep/page?x#y`).origin).toBe(ORIGIN);
  });

  it("and every result is itself a fixed point", () => {
    for (const input of NASTY) {
      const once = sanitizeReturnTo(input, ORIGIN);
      expect(sanitizeReturnTo(once, ORIGIN)).toBe(once);
    }
  });

  it("also with a non-default origin", () => {
    const origin = "https://app.example.com";
    for (const input of [...NASTY, "/account?x=1#y"]) {
      expect(new URL(sanitizeReturnTo(input, origin), origin).origin).toBe(origin);
    }
  });
});
