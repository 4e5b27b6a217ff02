// Runs autocannon in a Node process of its own, never inside the benchmark
// script: in-process load would compete with the harness's own event loop
// and hide the load generator's CPU cost.

const runner = new URL("./autocannon-runner.cjs", import.meta.url).pathname;

export interface LoadOptions {
  url: string;
  connections: number;
  /** Seconds of load. */
  duration: number;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** Fixed total request rate across all connections (autocannon's `overallRate`); unset means as fast as possible. */
  overallRate?: number;
  /** Replace `[<id>]` in headers and body with a unique id per request (autocannon's `idReplacement`), e.g. a fresh Idempotency-Key each time. */
  idReplacement?: boolean;
}

export interface LoadResult {
  /** 2xx responses per second. */
  rps: number;
  /** Latency of 2xx responses in ms (autocannon records only those). */
  p50: number;
  p99: number;
  p999: number;
  total2xx: number;
  non2xx: number;
  /** Socket errors, timeouts included (autocannon counts a timeout as an error too). */
  errors: number;
  /** CPU the load generator itself used (user + system), in seconds. */
  cpuSeconds: number;
  durationSeconds: number;
}

/** The fields of autocannon's result object that are read here. */
interface AutocannonJson {
  duration: number;
  "2xx": number;
  non2xx: number;
  errors: number;
  latency: { p50: number; p99: number; p99_9: number };
}

/** Runs one load phase and resolves with its parsed figures; rejects if autocannon fails. */
export async function runAutocannon(opts: LoadOptions): Promise<LoadResult> {
  const options = {
    url: opts.url,
    connections: opts.connections,
    duration: opts.duration,
    method: opts.method ?? "POST",
    headers: opts.headers ?? {},
    body: opts.body,
    overallRate: opts.overallRate === undefined ? undefined : Math.max(1, Math.round(opts.overallRate)),
    idReplacement: opts.idReplacement ?? false,
  };
  const proc = Bun.spawn(["node", runner], { stdin: new Blob([JSON.stringify(options)]), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`autocannon exited with ${code}: ${err.slice(-500)}`);

  const run = JSON.parse(out) as AutocannonJson;
  const cpuUs = Number(/LOADGEN_CPU_US (\d+)/.exec(err)?.[1] ?? Number.NaN);
  return {
    rps: run["2xx"] / run.duration,
    p50: run.latency.p50,
    p99: run.latency.p99,
    p999: run.latency.p99_9,
    total2xx: run["2xx"],
    non2xx: run.non2xx,
    errors: run.errors,
    cpuSeconds: cpuUs / 1e6,
    durationSeconds: run.duration,
  };
}
