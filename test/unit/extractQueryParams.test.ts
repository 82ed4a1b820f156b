import { describe, expect, it } from "vitest";
import { extractQueryParams, readParams } from "../../src/core/extractQueryParams.js";

describe("extractQueryParams", () => {
  it("reads the query", () => {
    expect(extractQueryParams("https://app.example/cb?code=abc&state=xyz")).toEqual({ code: "abc", state: "xyz" });
  });

  it("merges the query and the fragment", () => {
    expect(extractQueryParams("https://app.example/cb?code=abc#state=xyz&session_state=s")).toEqual({
      code: "abc",
      state: "xyz",
      session_state: "s",
    });
  });

  it("decodes percent-escapes and + in names and values", () => {
    expect(extractQueryParams("https://app.example/cb?error_description=Access%20denied+by%2Fuser&na%6De=%E2%9C%93#frag%3D=a%26b")).toEqual({
      error_description: "Access denied by/user",
      name: "✓",
      "frag=": "a&b",
    });
  });

  it("lets the first occurrence win, within the query and over the fragment", () => {
    expect(extractQueryParams("https://app.example/cb?state=first&state=second#state=third&code=c&code=d")).toEqual({
      state: "first",
      code: "c",
    });
  });

  it("accepts a URL object and a relative URL", () => {
    expect(extractQueryParams(new URL("https://app.example/cb?a=1#b=2"))).toEqual({ a: "1", b: "2" });
    expect(extractQueryParams("/cb?a=1#b=2")).toEqual({ a: "1", b: "2" });
  });

  it("returns an empty object for a URL without parameters", () => {
    expect(extractQueryParams("https://app.example/cb")).toEqual({});
    expect(extractQueryParams("https://app.example/cb?#")).toEqual({});
  });

  it("keeps empty names and values", () => {
    expect(extractQueryParams("https://app.example/cb?flag&=v&k=")).toEqual({ flag: "", "": "v", k: "" });
  });
});

describe("extractQueryParams and prototype pollution", () => {
  const url = "https://app.example/cb?__proto__=p&constructor=c&prototype=t#__proto__[polluted]=1&hasOwnProperty=h&toString=s";

  it('keeps "__proto__", "constructor" and friends as plain own data properties', () => {
    const result = extractQueryParams(url);
    for (const [name, value] of [["__proto__", "p"], ["constructor", "c"], ["prototype", "t"], ["hasOwnProperty", "h"], ["toString", "s"]]) {
      const descriptor = Object.getOwnPropertyDescriptor(result, name as string);
      expect(descriptor, name).toEqual({ value, writable: true, enumerable: true, configurable: true });
    }
    expect(result["__proto__[polluted]"]).toBe("1");
  });

  it("keeps the ordinary prototype and pollutes no other object", () => {
    const result = extractQueryParams(url);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, "polluted")).toBe(false);
    expect(Object.keys(result)).toEqual(["__proto__", "constructor", "prototype", "__proto__[polluted]", "hasOwnProperty", "toString"]);
  });

  it('keeps a "__proto__" from the fragment as data, serialised like any other name', () => {
    const result = extractQueryParams("https://app.example/cb?a=1#__proto__=x");
    expect(Object.hasOwn(result, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(JSON.stringify(result)).toBe('{"a":"1","__proto__":"x"}');
  });
});

describe("readParams", () => {
  it("reads only the query, or only the fragment", () => {
    const href = "https://app.example/cb?code=q#code=f&state=s";
    expect(Object.fromEntries(readParams(href, "query").params)).toEqual({ code: "q" });
    expect(Object.fromEntries(readParams(href, "fragment").params)).toEqual({ code: "f", state: "s" });
  });

  it("reports each repeated name once, in order, keeping the first value", () => {
    const { params, duplicates } = readParams("https://app.example/cb?b=1&a=1&b=2&a=2&b=3&c=1", "query");
    expect(duplicates).toEqual(["b", "a"]);
    expect(params.get("a")).toBe("1");
    expect(params.get("b")).toBe("1");
    expect(params.get("c")).toBe("1");
  });

  it("reports duplicates in the fragment", () => {
    expect(readParams("https://app.example/cb#state=a&state=b", "fragment").duplicates).toEqual(["state"]);
  });

  it("counts a name spelled with an escape as the same name", () => {
    expect(readParams("https://app.example/cb?state=a&st%61te=b", "query").duplicates).toEqual(["state"]);
  });

  it("reports nothing when every name is unique", () => {
    expect(readParams("https://app.example/cb?code=c&state=s", "query").duplicates).toEqual([]);
  });

  it('keeps "__proto__" as a plain Map key', () => {
    const { params } = readParams("https://app.example/cb?__proto__=x", "query");
    expect(params.get("__proto__")).toBe("x");
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it("accepts a URL object", () => {
    expect(readParams(new URL("https://app.example/cb?x=1"), "query").params.get("x")).toBe("1");
  });
});
