/**
 * Environment every Herald process runs with (package.json `herald.runtimeEnv`):
 * `npm start` / `npm run herald` put it under the caller's own environment
 * (bin/bootstrap.mjs), and the tests and benchmarks start `herald` with it
 * (test/support/herald-process.ts, bench/phases/telemetry.ts), so what is
 * measured is what ships. Deployments that start the binary themselves set
 * the same variables (docs/configuration.md).
 *
 * `BUN_JSC_forceRAMSize=268435456`: JavaScriptCore sizes its GC heap from the
 * machine's RAM; told 256 MiB, it collects sooner and the process stays
 * smaller. A sizing hint, not a limit: a heap that needs more still grows.
 */
import pkg from "../package.json" with { type: "json" };

export const RUNTIME_ENV: Readonly<Record<string, string>> = pkg.herald.runtimeEnv;
