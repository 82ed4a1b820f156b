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

/**
 * A compact JWE (`dir` + `A256GCM`: authenticated encryption, done by jose) of `payload` that
 * expires with the cookie and names the client it belongs to.
 */
function sealPayload(payload: Record<string, unknown>, key: CryptoKey, clientId: string, maxAgeSeconds: number): Promise<string> {
  return new EncryptJWT(payload)
    .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
    .setAudience(clientId)
    .setIssuedAt()
    .setExpirationTime(`${Math.max(1, Math.floor(maxAgeSeconds))}s`)
    .encrypt(key);
}

/**
 * Opens what {@link sealPayload} sealed with any of the keys (the first seals, all open: rotation
 * without signing everybody out). Undefined for anything expired, tampered or sealed with a key
 * that is no longer configured.
 */
async function openPayload(value: string, keys: readonly CryptoKey[], clientId: string): Promise<Record<string, unknown> | undefined> {
  for (const key of keys) {
    try {
      return (await jwtDecrypt(value, key, { audience: clientId, keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] })).payload;
    } catch {
      // Try the next key; an expired or foreign cookie fails with all of them.
    }
  }
  return undefined;
}

/** Seals a JSON value the way {@link seal} seals a refresh token. */
export const sealJson = (value: unknown, key: CryptoKey, clientId: string, maxAgeSeconds: number): Promise<string> => sealPayload({ v: value }, key, clientId, maxAgeSeconds);

/** Opens what {@link sealJson} sealed, with any of the keys; undefined for anything expired, tampered or foreign. */
export const openJson = async (value: string, keys: readonly CryptoKey[], clientId: string): Promise<unknown> => (await openPayload(value, keys, clientId))?.v;

/** Seals a refresh token for the proxy's cookie; see {@link sealPayload}. */
export const seal = (refreshToken: string, key: CryptoKey, clientId: string, maxAgeSeconds: number): Promise<string> => sealPayload({ rt: refreshToken }, key, clientId, maxAgeSeconds);

/** Opens a sealed refresh-token cookie with any of the keys; undefined for anything expired, tampered, foreign or empty. */
export async function open(value: string, keys: readonly CryptoKey[], clientId: string): Promise<string | undefined> {
  const rt = (await openPayload(value, keys, clientId))?.rt;
  return typeof rt === "string" && rt !== "" ? rt : undefined;
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
