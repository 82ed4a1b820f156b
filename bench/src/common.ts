// Small pieces every part of the benchmark shares: where things are, bounded waits, statistics.
import type { Server } from "node:http";
import { fileURLToPath } from "node:url";

/** bench/ (this file is compiled into bench/node_modules/.cache/react-sso-bench/). */
export const BENCH_DIR = fileURLToPath(new URL("../../../", import.meta.url));
export const ROOT_DIR = fileURLToPath(new URL("../../../../", import.meta.url));
export const CACHE_DIR = fileURLToPath(new URL("./", import.meta.url));

/** Rejects with `what` when `promise` takes longer than `ms`; the timer never outlives the race. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The value below which `p` (0..1) of the sorted samples fall (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] as number;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

export function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port }, () => {
      server.off("error", reject);
      const address = server.address();
      if (address === null || typeof address === "string") reject(new Error("server has no TCP address"));
      else resolve(address.port);
    });
  });
}

/** Closes a server and the keep-alive sockets that would otherwise hold it open. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export interface Child<R> {
  /** What the child sent as `{ ready }` (a server's address). */
  ready: Promise<unknown>;
  /** What the child sent as `{ result }`. */
  done: Promise<R>;
  /** Asks the child to stop, and kills it if it has not within 5 s. */
  close(): Promise<void>;
}

/**
 * Runs one of the compiled harness scripts in its own Node process, talking over IPC. The child
 * is killed when it outlives `timeoutMs`, so no part of the benchmark can hang the run.
 */
export async function startChild<R>(name: string, args: string[], options: { execArgv?: string[]; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Child<R>> {
  const { fork } = await import("node:child_process");
  const child = fork(`${CACHE_DIR}${name}.mjs`, args, {
    execArgv: options.execArgv ?? [],
    env: options.env ?? process.env,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let settleReady: { resolve(value: unknown): void; reject(error: Error): void } | undefined;
  let settleDone: { resolve(value: R): void; reject(error: Error): void } | undefined;
  const ready = new Promise<unknown>((resolve, reject) => (settleReady = { resolve, reject }));
  const done = new Promise<R>((resolve, reject) => (settleDone = { resolve, reject }));
  // Whoever waits for one of them sees the failure; the other must not crash the run.
  ready.catch(() => undefined);
  done.catch(() => undefined);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const fail = (error: Error) => {
    settleReady?.reject(error);
    settleDone?.reject(error);
  };
  const timer = setTimeout(() => {
    fail(new Error(`${name} did not finish within ${options.timeoutMs} ms`));
    child.kill("SIGKILL");
  }, options.timeoutMs);
  child.on("message", (message: { ready?: unknown; result?: R; error?: string }) => {
    if ("ready" in message) settleReady?.resolve(message.ready);
    if ("result" in message) settleDone?.resolve(message.result as R);
    if (message.error !== undefined) fail(new Error(`${name}: ${message.error}`));
  });
  child.once("exit", (code, signal) => {
    clearTimeout(timer);
    fail(new Error(`${name} exited (${signal ?? code}) before it answered`));
  });
  return {
    ready,
    done,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        if (child.connected) child.send("close");
        const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(killer);
      }
      clearTimeout(timer);
    },
  };
}

/** The body of a harness child: sends its result (or its error) to the parent, then exits. */
export async function childMain(run: () => Promise<unknown>): Promise<void> {
  try {
    const result = await run();
    await new Promise<void>((resolve) => process.send?.({ result }, () => resolve()));
    process.exit(0);
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    await new Promise<void>((resolve) => process.send?.({ error: message }, () => resolve()));
    process.exit(1);
  }
}
