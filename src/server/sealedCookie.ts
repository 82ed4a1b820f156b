import { EncryptJWT, jwtDecrypt } from "jose";

const encoder = new TextEncoder();
/** Binds derived keys to this one use, so a secret shared with another system yields another key. */
const HKDF_INFO = encoder.encode("react-sso refresh-token cookie v1");

/** Derives a 256-bit AES-GCM key from a cookie secret (HKDF-SHA-256 over Web Crypto, so it runs in any runtime). */
export async function deriveKey(secret: string): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: HKDF_INFO },
    material,
    256,
  );
  return new Uint8Array(bits);
}

/**
 * Seals a refresh token into a compact JWE (`dir` + `A256GCM`: authenticated encryption, done by
 * jose) that expires with the cookie and names the client it belongs to.
 */
export async function seal(refreshToken: string, key: Uint8Array, clientId: string, maxAgeSeconds: number): Promise<string> {
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
export async function open(value: string, keys: readonly Uint8Array[], clientId: string): Promise<string | undefined> {
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
 * The refresh-token cookie: HttpOnly (no script reads it), SameSite=Strict (no cross-site request
 * carries it), Path=/ and, over https, Secure with the `__Host-` prefix so no subdomain can set it.
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
