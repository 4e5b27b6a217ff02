/**
 * Environment every Herald process runs with (package.json `herald.runtimeEnv`):
 * `npm start` / `npm run herald` put it under the caller's own environment
 * (bin/bootstrap.mjs), and the tests and benchmarks start `herald` with it
 * (test/support/herald-process.ts, bench/phases/telemetry.ts), so what is
 * measured is what ships. Deployments that start the binary themselves set
 * the same variables (README, Configuration).
 *
 * `BUN_JSC_forceRAMSize=268435456`: JavaScriptCore sizes its GC heap from the
 * machine's RAM and lets a busy process's heap grow accordingly; told 256 MiB,
 * it collects sooner. It is a sizing hint, not a limit: a heap that needs more
 * still grows (a process holding 1.2 GB of live objects under it runs as usual).
 * bench/profile/gateway.ts --phases key,batch (10 s each), runs
 * alternating without (the machine's 25 GB) and with it:
 *   single POST  13,372 / 13,554 → 12,671 / 13,722 per s, CPU 58.6 / 57.6 → 59.4 / 57.0 µs each,
 *                RSS peak 142 / 143 → 112 / 111 MB;
 *   batch        64,471 / 68,981 → 62,924 / 68,032 per s, CPU 12.2 / 11.7 → 12.9 / 12.0 µs each,
 *                RSS peak 182 / 176 → 146 / 132 MB.
 * About 2% more CPU for 30-45 MB less memory.
 */
import pkg from "../package.json" with { type: "json" };

export const RUNTIME_ENV: Readonly<Record<string, string>> = pkg.herald.runtimeEnv;
