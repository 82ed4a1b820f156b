// The token proxy's overhead: token requests through toNodeHandler(createTokenProxy(...)) against
// the same requests sent straight to the stub token endpoint it forwards to, in interleaved
// rounds (so a busy machine slows both alike), at concurrency 1 and 32, on loopback only.
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { childMain, median, percentile, round, startChild, type Child } from "./common.js";
import { APP_ORIGIN, NONCE_CODE_PREFIX, PROXY_CLIENT_ID, PROXY_CLIENT_SECRET, REDIRECT_URI, type ProxyPath, type StubReady } from "./proxyShared.js";

export interface ProxyOptions {
  rounds: number;
  /** Requests per variant, per round, at each concurrency. */
  requests: Record<"1" | "32", number>;
  warmup: number;
  /** Upper bound of one variant's run, in ms: the run stops there even if requests are left. */
  runLimitMs: number;
}

type VariantName = "stub" | "stub+idt" | ProxyPath;
interface Variant {
  name: VariantName;
  /** The stub-alone variant the proxied one is compared with. */
  baseline?: VariantName;
  kind: "direct" | "passthrough" | "cookie";
  path: string;
}

export interface VariantStats {
  n: number;
  p50: number;
  p99: number;
  /** Requests per second, over the variant's rounds. */
  throughput: number;
  truncated: boolean;
}

export interface ProxyComparison {
  variant: ProxyPath;
  concurrency: number;
  proxy: VariantStats;
  stub: VariantStats;
  /** p50 through the proxy minus p50 straight to the stub, ms. */
  addedP50: number;
  addedP99: number;
  /** Medians over the rounds of the per-round ratios. */
  p50Ratio: number;
  throughputRatio: number;
}

export interface ProxyResults {
  variants: Record<string, VariantStats>;
  comparisons: ProxyComparison[];
  rounds: number;
  requests: ProxyOptions["requests"];
}

const basic = `Basic ${Buffer.from(`${encodeURIComponent(PROXY_CLIENT_ID)}:${encodeURIComponent(PROXY_CLIENT_SECRET)}`).toString("base64")}`;

interface Answer {
  status: number;
  body: string;
  cookie: string | undefined;
  /** The login-transaction cookie (…-login) the proxy's login step set, for the exchange that follows. */
  loginCookie: string | undefined;
}

function post(agent: Agent, url: URL, headers: Record<string, string>, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, headers: { ...headers, "content-type": "application/x-www-form-urlencoded", "content-length": String(Buffer.byteLength(body)) }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        // The session's cookie; the login-transaction cookie (…-login) only matters to the sign-in.
        const cookies = (res.headers["set-cookie"] ?? []).map((c) => c.split(";")[0] as string);
        const isLogin = (c: string) => /^(__Host-)?[\w-]+-login=/.test(c);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), cookie: cookies.find((c) => !isLogin(c)), loginCookie: cookies.find(isLogin) });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

/** One browser session's worth of state: the refresh token (direct, passthrough) or the sealed cookie. */
class Session {
  refreshToken: string | undefined;
  cookie: string | undefined;
  constructor(
    private readonly variant: Variant,
    private readonly base: string,
    private readonly agent: Agent,
  ) {}

  private headers(): Record<string, string> {
    if (this.variant.kind === "direct") return { authorization: basic };
    return { origin: APP_ORIGIN, "x-react-sso": "1", ...(this.cookie && { cookie: this.cookie }) };
  }

  private take(answer: Answer): void {
    if (answer.status !== 200) throw new Error(`${this.variant.name}: HTTP ${answer.status} ${answer.body.slice(0, 200)}`);
    if (this.variant.kind === "cookie") {
      if (!answer.cookie) throw new Error(`${this.variant.name}: the proxy set no cookie`);
      this.cookie = answer.cookie;
    } else {
      const rotated = (JSON.parse(answer.body) as { refresh_token?: string }).refresh_token;
      if (!rotated) throw new Error(`${this.variant.name}: no rotated refresh token`);
      this.refreshToken = rotated;
    }
  }

  /** The sign-in that starts the session (not timed). */
  async start(): Promise<void> {
    const url = new URL(this.variant.path, this.base);
    if (this.variant.kind === "direct") {
      const body = new URLSearchParams({ grant_type: "authorization_code", code: "bench-code", code_verifier: "v".repeat(43), redirect_uri: REDIRECT_URI, client_id: PROXY_CLIENT_ID });
      return this.take(await post(this.agent, url, this.headers(), body.toString()));
    }
    // Through the proxy, a login starts with its login step: the proxy holds the state and the verifier.
    const login = await post(this.agent, url, this.headers(), new URLSearchParams({ action: "login", client_id: PROXY_CLIENT_ID, redirect_uri: REDIRECT_URI }).toString());
    if (login.status !== 200 || !login.loginCookie) throw new Error(`${this.variant.name}: login step HTTP ${login.status} ${login.body.slice(0, 200)}`);
    const { state, nonce } = JSON.parse(login.body) as { state: string; nonce: string };
    const body = new URLSearchParams({ grant_type: "authorization_code", code: `${NONCE_CODE_PREFIX}${nonce}`, state, redirect_uri: REDIRECT_URI, client_id: PROXY_CLIENT_ID });
    this.take(await post(this.agent, url, { ...this.headers(), cookie: login.loginCookie }, body.toString()));
  }

  /** One refresh: the request whose latency is measured. */
  async refresh(): Promise<void> {
    const form = new URLSearchParams({ grant_type: "refresh_token", client_id: PROXY_CLIENT_ID });
    if (this.variant.kind !== "cookie") form.set("refresh_token", this.refreshToken ?? "");
    this.take(await post(this.agent, new URL(this.variant.path, this.base), this.headers(), form.toString()));
  }
}

interface Run {
  latencies: number[];
  elapsedMs: number;
  truncated: boolean;
}

async function runVariant(variant: Variant, base: string, concurrency: number, requests: number, limitMs: number): Promise<Run> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    const sessions = Array.from({ length: concurrency }, () => new Session(variant, base, agent));
    await Promise.all(sessions.map((s) => s.start()));
    const latencies: number[] = [];
    let issued = 0;
    const started = performance.now();
    const deadline = started + limitMs;
    await Promise.all(
      sessions.map(async (session) => {
        while (issued < requests && performance.now() < deadline) {
          issued++;
          const t0 = performance.now();
          await session.refresh();
          latencies.push(performance.now() - t0);
        }
      }),
    );
    return { latencies, elapsedMs: performance.now() - started, truncated: latencies.length < requests };
  } finally {
    agent.destroy();
  }
}

function stats(runs: Run[]): VariantStats {
  const all = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const elapsed = runs.reduce((sum, r) => sum + r.elapsedMs, 0);
  return {
    n: all.length,
    p50: round(percentile(all, 0.5), 3),
    p99: round(percentile(all, 0.99), 3),
    throughput: round((all.length / elapsed) * 1000, 0),
    truncated: runs.some((r) => r.truncated),
  };
}

export async function runProxyBench(options: ProxyOptions): Promise<ProxyResults> {
  const children: Child<never>[] = [];
  try {
    const stubChild = await startChild<never>("proxyServer", ["stub"], { timeoutMs: 600_000 });
    children.push(stubChild);
    const stub = (await stubChild.ready) as StubReady;
    const proxyChild = await startChild<never>("proxyServer", ["proxy", JSON.stringify(stub)], { timeoutMs: 600_000 });
    children.push(proxyChild);
    const proxy = ((await proxyChild.ready) as { url: string }).url;
    const stubOrigin = new URL(stub.issuer).origin;

    const variants: Variant[] = [
      { name: "stub", kind: "direct", path: "/token" },
      { name: "stub+idt", kind: "direct", path: "/token-idt" },
      { name: "passthrough", baseline: "stub", kind: "passthrough", path: "/passthrough" },
      { name: "cookie", baseline: "stub", kind: "cookie", path: "/cookie" },
      { name: "cookie-verify", baseline: "stub+idt", kind: "cookie", path: "/cookie-verify" },
    ];
    const baseOf = (v: Variant) => (v.kind === "direct" ? stubOrigin : proxy);
    // JIT, the proxy's JWKS fetch and the sockets: none of it belongs to the measurement.
    for (const v of variants) await runVariant(v, baseOf(v), 4, options.warmup, options.runLimitMs);

    const runs = new Map<string, Run[]>();
    for (let r = 0; r < options.rounds; r++) {
      for (const concurrency of [1, 32]) {
        // Rotate the order each round, so no variant always runs right after the same one.
        const order = variants.map((_, i) => variants[(i + r) % variants.length] as Variant);
        for (const v of order) {
          const key = `${v.name}@${concurrency}`;
          const run = await runVariant(v, baseOf(v), concurrency, options.requests[String(concurrency) as "1" | "32"], options.runLimitMs);
          runs.set(key, [...(runs.get(key) ?? []), run]);
        }
      }
    }

    const results: Record<string, VariantStats> = {};
    for (const [key, list] of runs) results[key] = stats(list);
    const comparisons: ProxyComparison[] = [];
    for (const concurrency of [1, 32]) {
      for (const v of variants) {
        if (!v.baseline) continue;
        const proxied = runs.get(`${v.name}@${concurrency}`) ?? [];
        const direct = runs.get(`${v.baseline}@${concurrency}`) ?? [];
        const p = stats(proxied);
        const d = stats(direct);
        const perRound = proxied.map((run, i) => ({ a: stats([run]), b: stats([direct[i] as Run]) }));
        comparisons.push({
          variant: v.name as ProxyPath,
          concurrency,
          proxy: p,
          stub: d,
          addedP50: round(p.p50 - d.p50, 3),
          addedP99: round(p.p99 - d.p99, 3),
          p50Ratio: round(median(perRound.map(({ a, b }) => a.p50 / b.p50)), 2),
          throughputRatio: round(median(perRound.map(({ a, b }) => a.throughput / b.throughput)), 3),
        });
      }
    }
    return { variants: results, comparisons, rounds: options.rounds, requests: options.requests };
  } finally {
    for (const child of children.reverse()) await child.close();
  }
}

if (process.send) await childMain(() => runProxyBench(JSON.parse(process.argv[2] ?? "{}") as ProxyOptions));
