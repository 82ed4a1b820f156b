// Memory: the heap after 1,000 login/refresh/logout cycles of the core engine and after 1,000
// provider mount/unmount cycles, after GC, against the heap at the start. Runs with --expose-gc
// and React's production build, in jsdom, against the stub IdP in this process.
import { childMain } from "./common.js";
import { installDom } from "./dom.js";
import { startStubIdp } from "./stubIdp.js";

export interface MemoryRun {
  what: string;
  cycles: number;
  /** heapUsed after GC, bytes. */
  startBytes: number;
  endBytes: number;
  growthBytes: number;
  perCycleBytes: number;
  /** Whether the client has dispose() (issue 9); the provider calls it on unmount when it does. */
  disposeAvailable: boolean;
}

export const MEMORY_CLIENT_ID = "bench-memory";

export interface MemoryOptions {
  cycles: number;
  /** Cycles run before the first measurement: V8 compiles and optimises the code they run, which is not a leak. */
  warmup: number;
  /** Wait, before each measurement, for the last requests' timeout signals to fire (see REQUEST_TIMEOUT_MS). */
  settle: boolean;
}

async function heapAfterGc(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("memory: run with --expose-gc");
  // Several passes with the event loop turning between them: finalizers and weak refs settle.
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

async function run(options: MemoryOptions): Promise<MemoryRun[]> {
  installDom("http://localhost:3000/");
  const stub = await startStubIdp({ clientId: MEMORY_CLIENT_ID, idTokens: "signed" });
  try {
    // After the DOM exists: react-dom decides at import time whether it runs in a browser.
    const { engineCycles, providerCycles, REQUEST_TIMEOUT_MS } = await import("./memoryCycles.js");
    // Each request's AbortSignal.timeout(timeoutMs) lives until it fires: both measurements wait
    // for the last ones to go, so that they compare like with like.
    const settle = () => options.settle && new Promise((resolve) => setTimeout(resolve, REQUEST_TIMEOUT_MS + 500));
    const runs: MemoryRun[] = [];
    for (const [what, cycle, dispose] of [
      ["core engine: login, callback, refresh, logout", ...(await engineCycles(stub))],
      ["<OAuthProvider config> mount and unmount", ...(await providerCycles(stub))],
    ] as const) {
      for (let i = 0; i < options.warmup; i++) await cycle();
      await settle();
      const startBytes = await heapAfterGc();
      for (let i = 0; i < options.cycles; i++) await cycle();
      await settle();
      const endBytes = await heapAfterGc();
      runs.push({ what, cycles: options.cycles, startBytes, endBytes, growthBytes: endBytes - startBytes, perCycleBytes: Math.round((endBytes - startBytes) / options.cycles), disposeAvailable: dispose });
    }
    return runs;
  } finally {
    await stub.close();
  }
}

if (process.send) await childMain(() => run(JSON.parse(process.argv[2] ?? "{}") as MemoryOptions));
