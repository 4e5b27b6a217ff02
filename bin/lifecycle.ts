import type { Logger } from "pino";
import { createHeraldLogger, wantsPrettyLogs, type PrettyFactory } from "../lib/telemetry/logging.ts";
import type { ErrorReporter } from "../lib/telemetry/error-reporter.ts";
import { startTracing, TracingShutdownTimeout, type Tracing } from "../lib/telemetry/tracing.ts";
import { ConfigError, type HeraldConfig } from "../schemas/config.ts";
import { errorReporter, tracingOptions } from "./config-telemetry.ts";

/** Something started for this process that must be stopped with it. */
export type Closer = () => Promise<void>;

/** A problem the operator fixes before starting again: printed as plain text, exit 78 (EX_CONFIG). */
export class StartupError extends ConfigError {}

/** What every command runs with: the process's logger and tracing, and what to close on the way out. */
export interface ProcessContext {
  cfg: HeraldConfig;
  log: Logger;
  tracing: Tracing;
  /** Where unexpected errors go (SENTRY_DSN); a no-op when unset. */
  errors: ErrorReporter;
  /** Run in reverse on shutdown: push a closer right after starting what it stops. */
  closers: Closer[];
}

/**
 * Runs a command as the process: logger and tracing first, SIGTERM/SIGINT
 * close everything in reverse order, and a configuration problem found while
 * starting prints as plain text. `keepRunning`: a server stays up after
 * `start` resolves; a one-shot command exits 0.
 */
export async function runProcess(cfg: HeraldConfig, service: string, start: (ctx: ProcessContext) => Promise<void>, keepRunning: boolean): Promise<void> {
  const pretty = wantsPrettyLogs(cfg.NODE_ENV, process.stdout.isTTY) ? ((await import("pino-pretty")).default as PrettyFactory) : undefined;
  const log = createHeraldLogger({ level: cfg.LOG_LEVEL, service, sampleRate: cfg.HERALD_LOG_SAMPLE, ...(pretty ? { pretty } : {}) });
  const tracing = startTracing(tracingOptions(cfg, service));
  // Not awaited: the probe's request is made now, before serving; its answer is only logged.
  void tracing.probe().then((problem) => {
    if (problem !== undefined) log.warn({ problem }, "the OTLP collector did not take an empty export at start; spans will be retried, then dropped");
  });
  const errors = errorReporter(cfg, service, log);
  if (errors.enabled) reportCrashes(errors, log);
  // Closers run in reverse, so tracing shuts down last and exports the spans of the drain too; error reports go after it.
  const closers: Closer[] = [
    () => errors.flush(),
    () =>
      tracing.shutdown().catch((err: unknown) => {
        if (!(err instanceof TracingShutdownTimeout)) throw err;
        log.warn({ timeoutMs: err.timeoutMillis }, "the OTLP collector did not take the last spans in time; they were dropped");
      }),
  ];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch((err: unknown) => log.error({ err }, "error while shutting down"));
  };
  let stopping = false;
  const shutdown = once(async (signal: string) => {
    stopping = true;
    log.info({ signal }, "shutting down");
    // A drain can wait forever (NATS gone for good): give up after the bound rather than outlive the orchestrator's patience.
    const deadline = setTimeout(() => {
      log.error({ timeoutMs: cfg.HERALD_SHUTDOWN_TIMEOUT_MS }, "the clean stop did not finish in time; exiting anyway");
      process.exit(1);
    }, cfg.HERALD_SHUTDOWN_TIMEOUT_MS);
    await closeAll();
    clearTimeout(deadline);
    log.info("stopped");
    process.exit(0);
  });
  const onSignal = (signal: string) => {
    if (!stopping) return void shutdown(signal);
    log.warn({ signal }, "a second signal while stopping; exiting at once");
    process.exit(1);
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));

  try {
    await start({ cfg, log, tracing, errors, closers });
  } catch (err) {
    await closeAll();
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78);
    }
    log.fatal({ err }, "could not start");
    process.exit(1);
  }
  if (!keepRunning) {
    await closeAll();
    process.exit(0);
  }
}

/**
 * An uncaught exception or unhandled rejection is reported, then the process
 * exits 1 as it would have without the handler: a bug leaves no process
 * half-working behind. The wait for the report is bounded.
 */
function reportCrashes(errors: ErrorReporter, log: Logger): void {
  const crash = (kind: string) => (err: unknown) => {
    log.fatal({ err, kind }, "crashed");
    errors.report(err, { level: "fatal", tags: { kind } });
    void errors.flush(2_000).finally(() => process.exit(1));
  };
  process.on("uncaughtException", crash("uncaughtException"));
  process.on("unhandledRejection", crash("unhandledRejection"));
}

function once<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  let started: Promise<void> | null = null;
  return (...args) => (started ??= fn(...args));
}
