/**
 * Herald's pino loggers: JSON lines, the ids an operator searches by on every
 * line (child loggers), `HERALD_LOG_SAMPLE` sampling that never touches warn
 * and above, and redaction of recipients, secrets and message bodies.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { createLineBuffer, fdWriter, type LineBuffer } from "./line-buffer.ts";
import { redactSecrets, registerRoot, sampledDecision } from "./log-lines.ts";

/** pino levels below warn (trace 10, debug 20, info 30) are the only ones sampled. */
const WARN_LEVEL = 40;
export interface LoggingOptions {
  level: string;
  /** `service` on every line: herald-gateway, herald-processor, herald-all. */
  service: string;
  /** HERALD_LOG_SAMPLE: share of info/debug/trace lines kept, 0..1; warn, error and fatal are always kept. Default 1. */
  sampleRate?: number;
  /**
   * Human-readable output: pino-pretty's factory, which the caller loads only
   * for a developer's terminal (decide with `wantsPrettyLogs`).
   */
  pretty?: PrettyFactory;
  /** Where lines go (tests); default stdout, buffered (`bufferedStdout`). With `pretty`, the prettified lines go there. */
  destination?: DestinationStream;
}

/** How long a buffered line may wait for company before it is written anyway. */
export const LOG_FLUSH_INTERVAL_MS = 100;

/** A chunk is written once this much is waiting: one write(2), and one wake-up of the pipe's reader, per chunk. */
export const LOG_CHUNK_BYTES = 64 * 1024;

/**
 * Stdout written in chunks of ≥ LOG_CHUNK_BYTES (or every LOG_FLUSH_INTERVAL_MS)
 * instead of one write(2) per line, never blocking on a full pipe (see
 * ./line-buffer.ts). What is buffered is written on exit, normal or
 * `process.exit`; a SIGKILL loses at most the last interval's lines.
 */
export function bufferedStdout(): LineBuffer {
  const out = createLineBuffer(fdWriter(1), { flushIntervalMs: LOG_FLUSH_INTERVAL_MS, minLength: LOG_CHUNK_BYTES });
  process.once("exit", () => out.flushSync());
  return out;
}

/** Pretty output only for a person at a terminal in development; JSON for everything that parses logs. */
export function wantsPrettyLogs(nodeEnv: string, isTTY: boolean | undefined): boolean {
  return nodeEnv === "development" && isTTY === true;
}

function clampRate(rate: number | undefined): number {
  return rate === undefined || Number.isNaN(rate) ? 1 : Math.min(1, Math.max(0, rate));
}

/** The process logger. */
export function createHeraldLogger(opts: LoggingOptions): Logger {
  const rate = clampRate(opts.sampleRate);
  const options: LoggerOptions = {
    level: opts.level,
    base: { service: opts.service },
    // A key lookup per field: pino's wildcard redact paths cost more per line than the rest of the line.
    formatters: { log: redactSecrets },
  };
  if (rate < 1) {
    options.hooks = {
      logMethod(args, method, level) {
        if (level < WARN_LEVEL) {
          // A correlated child decided once for its whole request; other lines are sampled one by one.
          const keep = sampledDecision(this) ?? Math.random() < rate;
          if (!keep) return;
        }
        method.apply(this, args);
      },
    };
  }
  const logger = pino(options, opts.pretty ? prettyStream(opts.pretty, opts.destination) : (opts.destination ?? bufferedStdout()));
  // Pretty output goes through pino-pretty, so its lines must take pino's own path.
  registerRoot(logger, { rate, directLines: opts.pretty === undefined });
  return logger;
}

/** pino-pretty's default export, as Herald calls it. */
export type PrettyFactory = (o: { sync: boolean; colorize: boolean; destination?: DestinationStream }) => DestinationStream;

function prettyStream(pretty: PrettyFactory, destination: DestinationStream | undefined): DestinationStream {
  // Synchronous, in-process: no worker thread.
  return pretty({ sync: true, colorize: destination === undefined, ...(destination ? { destination } : {}) });
}
