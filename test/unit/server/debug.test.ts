// @vitest-environment node
import { afterEach, describe, expect, it, vi } from "vitest";
import { debugLine, debugSelected, loggableEndpoint, resolveDebug, tracedFetch } from "../../../src/server/debug.js";

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe("DEBUG", () => {
  it.each([
    ["react-sso", true],
    ["react-sso:*", true],
    ["react-sso*", true],
    ["*", true],
    ["express:*,react-sso", true],
    ["express:* react-sso", true],
    ["react-*", true],
    ["*,-react-sso", false],
    ["react-sso,-react-sso:*", false],
    ["simple-oauth2", false],
    ["react-ssox", false],
    ["", false],
    [undefined, false],
  ])("%j selects react-sso: %s", (value, selected) => {
    expect(debugSelected(value)).toBe(selected);
  });

  it("DEBUG=react-sso sends the lines to stderr (console.error); debug: false silences them; a function takes them instead", () => {
    const stderr = vi.spyOn(console, "error").mockImplementation(() => undefined);
    vi.stubEnv("DEBUG", "react-sso");
    resolveDebug(undefined)?.("line one");
    expect(resolveDebug(false)).toBeUndefined();
    const mine: string[] = [];
    resolveDebug((line) => mine.push(line))?.("line two");
    expect(stderr.mock.calls).toEqual([["line one"]]);
    expect(mine).toEqual(["line two"]);
  });

  it("without DEBUG nothing is logged unless debug is true", () => {
    const stderr = vi.spyOn(console, "error").mockImplementation(() => undefined);
    vi.stubEnv("DEBUG", "");
    expect(resolveDebug(undefined)).toBeUndefined();
    resolveDebug(true)?.("on");
    expect(stderr.mock.calls).toEqual([["on"]]);
  });
});

describe("the lines", () => {
  it("show method, endpoint, status and whole milliseconds, never the query, fragment or userinfo", () => {
    expect(debugLine("post", "https://user:pw@sso.example.com/oauth/token?code=SECRET#frag", 200, 34.6)).toBe("react-sso POST https://sso.example.com/oauth/token 200 35ms");
    expect(loggableEndpoint("not a url")).toBe("(not a URL)");
  });

  it("tracedFetch writes one line per request, success or failure, and a throwing sink changes nothing", async () => {
    const lines: string[] = [];
    const ok = tracedFetch(async () => new Response("{}", { status: 401 }), (line) => lines.push(line));
    await ok("https://sso.example.com/token?access_token=abc", { method: "POST", body: "client_secret=hunter2" });
    await ok(new URL("https://sso.example.com/jwks"));
    const down = tracedFetch(async () => {
      throw new TypeError("fetch failed");
    }, (line) => lines.push(line));
    await expect(down("https://sso.example.com/token", { method: "POST" })).rejects.toThrow("fetch failed");
    const slow = tracedFetch(async () => {
      throw new DOMException("timed out", "TimeoutError");
    }, (line) => lines.push(line));
    await expect(slow(new Request("https://sso.example.com/introspect", { method: "POST" }))).rejects.toThrow("timed out");
    expect(lines.map((line) => line.replace(/\d+ms$/, "Nms"))).toEqual([
      "react-sso POST https://sso.example.com/token 401 Nms",
      "react-sso GET https://sso.example.com/jwks 401 Nms",
      "react-sso POST https://sso.example.com/token failed Nms",
      "react-sso POST https://sso.example.com/introspect timeout Nms",
    ]);
    expect(lines.join("\n")).not.toMatch(/abc|hunter2/);

    const throwing = tracedFetch(async () => new Response("ok"), () => {
      throw new Error("logger broke");
    });
    expect(await (await throwing("https://sso.example.com/")).text()).toBe("ok");
  });
});
