import { EncryptJWT, jwtDecrypt } from "jose";

const encoder = new TextEncoder();
/**
 * Binds derived keys to one use, so a secret shared with another system (or the other cookie)
 * yields another key: a login-transaction cookie never opens as a refresh-token cookie.
 */
const USES = { refreshToken: "react-sso refresh-token cookie v1", login: "react-sso login-transaction cookie v1" } as const;

/**
 * Derives a 256-bit AES-GCM key from a cookie secret (HKDF-SHA-256 over Web Crypto, so it runs in
 * any runtime), imported once: a raw key would be imported again on every seal and open.
 */
export async function deriveKey(secret: string, use: keyof typeof USES = "refreshToken"): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: encoder.encode(USES[use]) },
    material,
    256,
  );
  return crypto.subtle.importKey("raw", bits, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** Seals a JSON value the way {@link seal} seals a refresh token. */
export async function sealJson(value: unknown, key: CryptoKey, clientId: string, maxAgeSeconds: number): Promise<string> {
  return new EncryptJWT({ v: value })
    .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
    .setAudience(clientId)
    .setIssuedAt()
    .setExpirationTime(`${Math.max(1, Math.floor(maxAgeSeconds))}s`)
    .encrypt(key);
}

/** Opens what {@link sealJson} sealed, with any of the keys; undefined for anything expired, tampered or foreign. */
export async function openJson(value: string, keys: readonly CryptoKey[], clientId: string): Promise<unknown> {
  for (const key of keys) {
    try {
      const { payload } = await jwtDecrypt(value, key, { audience: clientId, keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] });
      return payload.v;
    } catch {
      // Try the next key.
    }
  }
  return undefined;
}

/**
 * Seals a refresh token into a compact JWE (`dir` + `A256GCM`: authenticated encryption, done by
 * jose) that expires with the cookie and names the client it belongs to.
 */
export async function seal(refreshToken: string, key: CryptoKey, clientId: string, maxAgeSeconds: number): Promise<string> {
  return new EncryptJWT({ rt: refreshToken })
    .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
    .setAudience(clientId)
    .setIssuedAt()
    .setExpirationTime(`${Math.max(1, Math.floor(maxAgeSeconds))}s`)
    .encrypt(key);
}

/**
 * Opens a sealed cookie with any of the keys (the first seals, all open: rotation without
 * signing everybody out). Returns undefined for anything expired, tampered or sealed with a
 * key that is no longer configured.
 */
export async function open(value: string, keys: readonly CryptoKey[], clientId: string): Promise<string | undefined> {
  for (const key of keys) {
    try {
      const { payload } = await jwtDecrypt(value, key, { audience: clientId, keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] });
      return typeof payload.rt === "string" && payload.rt !== "" ? payload.rt : undefined;
    } catch {
      // Try the next key; an expired or foreign cookie fails with all of them.
    }
  }
  return undefined;
}

export interface CookieAttributes {
  name: string;
  secure: boolean;
  maxAge: number;
}

/**
 * The proxy's cookies (the refresh token, the login transactions): HttpOnly (no script reads
 * them), SameSite=Strict (no cross-site request carries them), Path=/ and, over https, Secure
 * with the `__Host-` prefix so no subdomain can set them.
 */
export function serializeCookie(value: string, { name, secure, maxAge }: CookieAttributes): string {
  return `${name}=${value}; Path=/; Max-Age=${Math.max(0, Math.floor(maxAge))}; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
