// vitest's jsdom environment installs jsdom's own ArrayBuffer and typed-array constructors,
// while Node's crypto.subtle, TextEncoder and fetch keep producing Node's. A browser has one
// realm, so `bytes instanceof ArrayBuffer` holds there; restore that here, or oauth4webapi's
// PKCE and JWT code trips over cross-realm objects that no browser would ever hand it.
import { deserialize, serialize } from "node:v8";

const TYPED_ARRAYS = [
  "Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array",
  "Float32Array", "Float64Array", "Uint8ClampedArray", "BigUint64Array", "BigInt64Array",
] as const;

// v8.deserialize builds objects from this context's intrinsics, which are Node's, not jsdom's.
const intrinsic = (value: object): unknown => (deserialize(serialize(value)) as object).constructor;

const restored: Record<string, unknown> = {
  ArrayBuffer: intrinsic(new ArrayBuffer(8)),
  DataView: intrinsic(new DataView(new ArrayBuffer(8))),
};
for (const name of TYPED_ARRAYS) restored[name] = intrinsic(new globalThis[name](1));
Object.assign(globalThis, restored);
