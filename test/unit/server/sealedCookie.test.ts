// @vitest-environment node
import { afterEach, describe, expect, it, vi } from "vitest";
import { deriveKey, open, readCookie, seal, serializeCookie } from "../../../src/server/sealedCookie.js";

const SECRET = "cookie-secret-0123456789-abcdefghijklmnop";
const NEW_SECRET = "a-newer-cookie-secret-that-is-long-enough";
const CLIENT = "my-spa";
const REFRESH_TOKEN = "rt-8xLOxBtZp8-the-refresh-token-value";

afterEach(() => {
  vi.useRealTimers();
});

/** Replaces the first character of a JWE part (every bit of it is significant), or fills an empty part. */
function tamper(jwe: string, index: number): string {
  const parts = jwe.split(".");
  const part = parts[index] ?? "";
  parts[index] = part === "" ? "AA" : (part[0] === "A" ? "B" : "A") + part.slice(1);
  return parts.join(".");
}

describe("seal and open", () => {
  it("round-trips the refresh token, which does not appear in the sealed value", async () => {
    const key = await deriveKey(SECRET);
    const sealed = await seal(REFRESH_TOKEN, key, CLIENT, 60);
    expect(await open(sealed, [key], CLIENT)).toBe(REFRESH_TOKEN);
    expect(sealed).not.toContain(REFRESH_TOKEN);
    expect(sealed).not.toContain(Buffer.from(REFRESH_TOKEN).toString("base64url"));
    // A compact JWE with direct encryption: header, empty encrypted key, IV, ciphertext, tag.
    const parts = sealed.split(".");
    expect(parts).toHaveLength(5);
    expect(parts[1]).toBe("");
    const header = JSON.parse(Buffer.from(parts[0] as string, "base64url").toString()) as Record<string, unknown>;
    expect(header).toEqual({ alg: "dir", enc: "A256GCM" });
    // Cookie-safe without quoting.
    expect(sealed).toMatch(/^[A-Za-z0-9_.-]+$/);
  });

  it("sealing twice gives two different values (random IV)", async () => {
    const key = await deriveKey(SECRET);
    const [a, b] = await Promise.all([seal(REFRESH_TOKEN, key, CLIENT, 60), seal(REFRESH_TOKEN, key, CLIENT, 60)]);
    expect(a).not.toBe(b);
    expect(await open(a, [key], CLIENT)).toBe(REFRESH_TOKEN);
    expect(await open(b, [key], CLIENT)).toBe(REFRESH_TOKEN);
  });

  it("opens with a list of keys where the sealing key is second (rotation)", async () => {
    const oldKey = await deriveKey(SECRET);
    const newKey = await deriveKey(NEW_SECRET);
    const sealed = await seal(REFRESH_TOKEN, oldKey, CLIENT, 60);
    expect(await open(sealed, [newKey, oldKey], CLIENT)).toBe(REFRESH_TOKEN);
  });

  it("a cookie sealed with a retired key does not open", async () => {
    const oldKey = await deriveKey(SECRET);
    const newKey = await deriveKey(NEW_SECRET);
    const sealed = await seal(REFRESH_TOKEN, oldKey, CLIENT, 60);
    expect(await open(sealed, [newKey], CLIENT)).toBeUndefined();
    expect(await open(sealed, [], CLIENT)).toBeUndefined();
  });

  it.each([
    [0, "protected header"],
    [1, "encrypted key (empty for dir)"],
    [2, "IV"],
    [3, "ciphertext"],
    [4, "authentication tag"],
  ])("a change in part %i (%s) makes it unopenable", async (index) => {
    const key = await deriveKey(SECRET);
    const sealed = await seal(REFRESH_TOKEN, key, CLIENT, 60);
    const tampered = tamper(sealed, index);
    expect(tampered).not.toBe(sealed);
    expect(await open(tampered, [key], CLIENT)).toBeUndefined();
  });

  it.each([
    ["a truncated value", (s: string) => s.slice(0, -4)],
    ["a part missing", (s: string) => s.split(".").slice(0, 4).join(".")],
    ["an empty string", () => ""],
    ["a signed JWT instead", () => "eyJhbGciOiJIUzI1NiJ9.eyJydCI6IngifQ.c2ln"],
  ])("%s does not open", async (_, mangle) => {
    const key = await deriveKey(SECRET);
    const sealed = await seal(REFRESH_TOKEN, key, CLIENT, 60);
    expect(await open(mangle(sealed), [key], CLIENT)).toBeUndefined();
  });

  it("expires with its maxAge", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = new Date("2030-01-01T00:00:00Z");
    vi.setSystemTime(start);
    const key = await deriveKey(SECRET);
    const sealed = await seal(REFRESH_TOKEN, key, CLIENT, 1);
    vi.setSystemTime(start.getTime() + 500);
    expect(await open(sealed, [key], CLIENT)).toBe(REFRESH_TOKEN);
    vi.setSystemTime(start.getTime() + 2000);
    expect(await open(sealed, [key], CLIENT)).toBeUndefined();
  });

  it("a long maxAge still ends: a 7-day seal is dead after 8 days", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = new Date("2030-01-01T00:00:00Z");
    vi.setSystemTime(start);
    const key = await deriveKey(SECRET);
    const sealed = await seal(REFRESH_TOKEN, key, CLIENT, 7 * 24 * 3600);
    vi.setSystemTime(start.getTime() + 6 * 24 * 3600 * 1000);
    expect(await open(sealed, [key], CLIENT)).toBe(REFRESH_TOKEN);
    vi.setSystemTime(start.getTime() + 8 * 24 * 3600 * 1000);
    expect(await open(sealed, [key], CLIENT)).toBeUndefined();
  });

  it("a cookie sealed for another clientId (audience) does not open", async () => {
    const key = await deriveKey(SECRET);
    const sealed = await seal(REFRESH_TOKEN, key, "other-spa", 60);
    expect(await open(sealed, [key], CLIENT)).toBeUndefined();
    expect(await open(sealed, [key], "other-spa")).toBe(REFRESH_TOKEN);
  });
});

describe("deriveKey", () => {
  it("is deterministic: the same secret gives the same 256-bit key, and opens what it sealed", async () => {
    const a = await deriveKey(SECRET);
    const b = await deriveKey(SECRET);
    // An AES-GCM key of 256 bits, imported once and not extractable: its bytes never leave Web Crypto.
    expect(a.algorithm).toMatchObject({ name: "AES-GCM", length: 256 });
    expect(a.extractable).toBe(false);
    // Another process (another derivation) opens the cookie: the same key.
    expect(await open(await seal(REFRESH_TOKEN, a, CLIENT, 60), [b], CLIENT)).toBe(REFRESH_TOKEN);
  });

  it("differs per secret, even for a one-character change", async () => {
    const a = await deriveKey(SECRET);
    const b = await deriveKey(`${SECRET.slice(0, -1)}q`);
    const c = await deriveKey(NEW_SECRET);
    const sealed = await seal(REFRESH_TOKEN, a, CLIENT, 60);
    expect(await open(sealed, [b], CLIENT)).toBeUndefined();
    expect(await open(sealed, [c], CLIENT)).toBeUndefined();
  });

  it("is not the secret's raw bytes: a cookie sealed with those bytes as the key does not open", async () => {
    const key = await deriveKey("x".repeat(32));
    const raw = await crypto.subtle.importKey("raw", new TextEncoder().encode("x".repeat(32)), "AES-GCM", false, ["encrypt", "decrypt"]);
    expect(await open(await seal(REFRESH_TOKEN, raw, CLIENT, 60), [key], CLIENT)).toBeUndefined();
  });

  it("is another key for each use: a login-transaction cookie never opens as a refresh-token cookie", async () => {
    const refresh = await deriveKey(SECRET);
    const login = await deriveKey(SECRET, "login");
    expect(await open(await seal(REFRESH_TOKEN, login, CLIENT, 60), [refresh], CLIENT)).toBeUndefined();
  });
});

describe("serializeCookie", () => {
  it("over https: HttpOnly, SameSite=Strict, Path=/, Max-Age, Secure; no Domain", () => {
    const header = serializeCookie("sealed.value", { name: "__Host-react-sso-rt", secure: true, maxAge: 3600 });
    const [pair, ...attributes] = header.split(";").map((s) => s.trim());
    expect(pair).toBe("__Host-react-sso-rt=sealed.value");
    expect(attributes).toEqual(expect.arrayContaining(["Path=/", "Max-Age=3600", "HttpOnly", "SameSite=Strict", "Secure"]));
    expect(attributes.some((a) => /^domain=/i.test(a))).toBe(false);
  });

  it("over http: no Secure", () => {
    const header = serializeCookie("v", { name: "react-sso-rt", secure: false, maxAge: 60 });
    const attributes = header.split(";").map((s) => s.trim().toLowerCase());
    expect(attributes).toEqual(expect.arrayContaining(["httponly", "samesite=strict", "path=/", "max-age=60"]));
    expect(attributes).not.toContain("secure");
  });

  it("Max-Age is a whole, non-negative number of seconds", () => {
    expect(serializeCookie("", { name: "n", secure: true, maxAge: 0 })).toContain("Max-Age=0");
    expect(serializeCookie("", { name: "n", secure: true, maxAge: -5 })).toContain("Max-Age=0");
    expect(serializeCookie("v", { name: "n", secure: true, maxAge: 59.9 })).toContain("Max-Age=59;");
  });

  it("a clearing cookie has an empty value and Max-Age=0", () => {
    expect(serializeCookie("", { name: "__Host-react-sso-rt", secure: true, maxAge: 0 })).toMatch(/^__Host-react-sso-rt=; .*Max-Age=0/);
  });
});

describe("readCookie", () => {
  const header = "theme=dark; x-react-sso-rt=decoy1; react-sso-rt-old=decoy2; react-sso-rt=local; __Host-react-sso-rt=secure.value; lang=en";

  it("picks the cookie with exactly that name among several", () => {
    expect(readCookie(header, "react-sso-rt")).toBe("local");
    expect(readCookie(header, "__Host-react-sso-rt")).toBe("secure.value");
    expect(readCookie(header, "theme")).toBe("dark");
    expect(readCookie(header, "lang")).toBe("en");
  });

  it("handles missing or extra spaces around names and values", () => {
    expect(readCookie("a=1;react-sso-rt=v1;b=2", "react-sso-rt")).toBe("v1");
    expect(readCookie("a=1;   react-sso-rt =  v2  ; b=2", "react-sso-rt")).toBe("v2");
    expect(readCookie(" react-sso-rt=v3", "react-sso-rt")).toBe("v3");
  });

  it("keeps '=' inside a value", () => {
    expect(readCookie("react-sso-rt=a=b=c", "react-sso-rt")).toBe("a=b=c");
  });

  it("returns undefined when the cookie is absent or the header is empty", () => {
    expect(readCookie(header, "react-sso")).toBeUndefined();
    expect(readCookie(header, "rt")).toBeUndefined();
    expect(readCookie(null, "react-sso-rt")).toBeUndefined();
    expect(readCookie("", "react-sso-rt")).toBeUndefined();
    expect(readCookie("react-sso-rt", "react-sso-rt")).toBeUndefined();
    expect(readCookie("=react-sso-rt", "react-sso-rt")).toBeUndefined();
  });

  it("a value that only ends with the name is not matched", () => {
    expect(readCookie("other=react-sso-rt=x", "react-sso-rt")).toBeUndefined();
  });
});
