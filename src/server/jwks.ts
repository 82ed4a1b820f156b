import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type CryptoKey,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyOptions,
  type JWTVerifyResult,
  type LocalJWKSet,
} from "jose";
import { AuthError, AuthErrorCode } from "../shared/AuthError.js";
import { loggableEndpoint } from "./debug.js";

/**
 * The signature algorithms a JWKS key can verify. HMAC (`HS*`) is absent on purpose: with a
 * public key as the "secret", anyone could sign. `none` is never accepted by jose.
 */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

/** Options of {@link createJwksSource}. */
export interface JwksSourceOptions {
  /** The JWKS URL (the discovered `jwks_uri`). */
  uri: string;
  /** Used for every JWKS request; errors it throws are reported as `network`. @default globalThis.fetch */
  fetch?: typeof fetch | undefined;
  /** Timeout of each JWKS request, in milliseconds. @default 5000 */
  timeoutMs?: number | undefined;
  /** How long a fetched JWKS is used before it is fetched again, in milliseconds. @default 600000 (10 min) */
  cacheMaxAgeMs?: number | undefined;
  /**
   * Least time between two refetches caused by an unknown `kid`, in milliseconds: a flood of
   * forged tokens costs one JWKS request per cooldown. Other fetches do not start it, so a key
   * rotated seconds after the last fetch is still found at once.
   * @default 10000
   */
  unknownKidCooldownMs?: number | undefined;
}

/** A key resolver for jose's `jwtVerify`, backed by a remote JWKS. */
export interface JwksSource {
  (protectedHeader: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey>;
}

/**
 * A JWKS key source with the rotation rule of react-sso: keys are cached; a token whose `kid`
 * is not in the cache refetches the set at once, however recent the last fetch (an IdP may rotate
 * at any moment); only refetches caused by unknown `kid`s are rate limited (one per
 * `unknownKidCooldownMs`). jose's `createRemoteJWKSet` counts its cooldown from any fetch, which
 * refuses a key rotated within 30 s of it.
 *
 * When the set cannot be fetched it throws an {@link AuthError} (`network` for a failed or timed
 * out request, `invalid_response` for anything but a 200 with a JSON Web Key Set); a set that
 * was fetched before keeps serving when a refresh fails. When no key matches it throws jose's
 * `JWKSNoMatchingKey`.
 */
export function createJwksSource(options: JwksSourceOptions): JwksSource {
  const uri = options.uri;
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const timeoutMs = options.timeoutMs ?? 5000;
  const cacheMaxAgeMs = options.cacheMaxAgeMs ?? 600_000;
  const cooldownMs = options.unknownKidCooldownMs ?? 10_000;
  const where = `The JWKS at ${loggableEndpoint(uri)}`;

  // Concurrency: `pending` keeps one fetch at a time, whoever asks (callers that need the set
  // wait for that fetch rather than start their own); `lastUnknownKidFetch` limits the fetches
  // unknown kids cause, so forged tokens cannot turn each verification into a JWKS request;
  // `nextRefresh` moves forward after a failed refresh, so a JWKS that is down is not asked on
  // every verification while the cached set still works. `load` is the only writer of `keys`.
  let keys: LocalJWKSet | undefined;
  let nextRefresh = 0;
  let lastUnknownKidFetch = Number.NEGATIVE_INFINITY;
  let pending: Promise<void> | undefined;

  async function fetchSet(): Promise<LocalJWKSet> {
    let response: Response;
    try {
      response = await doFetch(uri, {
        method: "GET",
        headers: { accept: "application/json, application/jwk-set+json" },
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      if (err instanceof AuthError) throw err;
      const timedOut = (err as { name?: unknown } | null)?.name === "TimeoutError";
      throw new AuthError(AuthErrorCode.Network, `${where} ${timedOut ? `did not answer within ${timeoutMs} ms` : "could not be reached"}.`, { cause: err });
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new AuthError(AuthErrorCode.InvalidResponse, `${where} answered HTTP ${response.status}.`, { status: response.status });
    }
    try {
      return createLocalJWKSet((await response.json()) as Parameters<typeof createLocalJWKSet>[0]);
    } catch {
      throw new AuthError(AuthErrorCode.InvalidResponse, `${where} did not answer with a JSON Web Key Set.`, { status: response.status });
    }
  }

  function load(): Promise<void> {
    pending ??= fetchSet()
      .then(
        (set) => {
          keys = set;
          nextRefresh = Date.now() + cacheMaxAgeMs;
        },
        (err: unknown) => {
          // Retried after the cooldown, not on every verification; callers without a set see the error.
          nextRefresh = Date.now() + cooldownMs;
          throw err;
        },
      )
      .finally(() => {
        pending = undefined;
      });
    return pending;
  }

  /** Waits for a fetch; true when it produced a set. A failure only matters to a caller that has no set. */
  async function settle(fetch: Promise<void>): Promise<boolean> {
    try {
      await fetch;
      return true;
    } catch (err) {
      if (!keys) throw err;
      return false;
    }
  }

  return async function jwksKey(protectedHeader, token) {
    let fresh = false;
    if (pending) fresh = await settle(pending);
    else if (!keys || Date.now() >= nextRefresh) fresh = await settle(load());
    try {
      return await (keys as LocalJWKSet)(protectedHeader, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey) || fresh) throw err;
    }
    // An unknown kid: a rotation the cache has not seen, or a forgery.
    if (pending) {
      await settle(pending);
    } else {
      if (Date.now() - lastUnknownKidFetch < cooldownMs) throw new errors.JWKSNoMatchingKey();
      lastUnknownKidFetch = Date.now();
      // The set stays usable when this fails, but the key this token needs may only be in the new one.
      await load();
    }
    return (keys as LocalJWKSet)(protectedHeader, token);
  };
}

/**
 * jose's `jwtVerify` over a JWKS source, trying each candidate when several keys match a token
 * without `kid` (jose leaves that to the caller). Only asymmetric algorithms are accepted unless
 * `options.algorithms` says otherwise.
 */
export async function verifyWithJwks(token: string, jwks: JwksSource, options: JWTVerifyOptions): Promise<JWTVerifyResult<JWTPayload>> {
  const verifyOptions = { ...options, algorithms: options.algorithms ?? [...ASYMMETRIC_ALGORITHMS] };
  try {
    return await jwtVerify(token, jwks, verifyOptions);
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
    for await (const key of err) {
      try {
        return await jwtVerify(token, key, verifyOptions);
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

/** Why {@link verifyIdToken} refused an ID token, in words that hold nothing of the token. */
export class IdTokenRefused extends Error {
  override readonly name = "IdTokenRefused";
}

/** What an ID token is checked against. */
export interface IdTokenExpectations {
  /** The issuer `iss` must equal; undefined when the caller checks `iss` itself (Entra's multi-tenant template). */
  issuer: string | undefined;
  /** The client the token must be for: its `aud`, and its `azp` when it names one. */
  clientId: string;
  /** Seconds of clock skew allowed on `exp`, `iat` and `nbf`. */
  clockTolerance: number;
  /** The issuer's keys, for asymmetric signatures. */
  jwks: JwksSource | undefined;
  /** The client secret, which keys an HMAC-signed ID token (OpenID Connect Core §10.1). */
  clientSecret: string | undefined;
}

/**
 * OpenID Connect Core §3.1.3.7 on an ID token from the token endpoint: the signature (a JWKS key,
 * or the client secret for HS256/384/512, never a public key as an HMAC secret), `iss`, `aud`,
 * `exp`, `iat`, `sub`, and `azp` when present. Returns its claims. Throws {@link IdTokenRefused}
 * when the token fails a check, and the {@link AuthError} of a JWKS that could not be fetched.
 * The nonce is the caller's: only it knows which login the token ends.
 */
export async function verifyIdToken(idToken: string, expected: IdTokenExpectations): Promise<JWTPayload> {
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(idToken).alg;
  } catch {
    throw new IdTokenRefused("it is malformed.");
  }
  const { issuer, clientId, clockTolerance, jwks, clientSecret } = expected;
  const options: JWTVerifyOptions = { ...(issuer !== undefined && { issuer }), audience: clientId, clockTolerance, requiredClaims: ["iss", "sub", "aud", "exp", "iat"] };
  let payload: JWTPayload;
  try {
    if (typeof alg === "string" && alg.startsWith("HS")) {
      if (!clientSecret) throw new errors.JOSEAlgNotAllowed("an HMAC ID token needs a client secret");
      ({ payload } = await jwtVerify(idToken, new TextEncoder().encode(clientSecret), { ...options, algorithms: ["HS256", "HS384", "HS512"] }));
    } else {
      if (!jwks) throw new errors.JWKSNoMatchingKey();
      ({ payload } = await verifyWithJwks(idToken, jwks, options));
    }
  } catch (err) {
    if (err instanceof AuthError) throw err;
    throw new IdTokenRefused(err instanceof errors.JWSSignatureVerificationFailed ? "its signature is invalid." : `${(err as Error).message.slice(0, 120)}.`);
  }
  if (payload.azp !== undefined && payload.azp !== clientId) throw new IdTokenRefused("it was issued to another client (azp).");
  return payload;
}
