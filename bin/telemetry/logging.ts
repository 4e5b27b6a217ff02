/**
 * Herald's pino loggers: JSON lines, the ids an operator searches by on every
 * line (child loggers), `HERALD_LOG_SAMPLE` sampling that never touches warn
 * and above, and redaction of recipients, secrets and message bodies.
 */
import { createRequire } from "node:module";
import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";

/**
 * Keys whose values never reach a line, at any of the first `REDACT_DEPTH`
 * levels of a logged object (`payload`, `envelope.payload`, `req.headers.authorization`).
 */
export const REDACTED_KEYS: ReadonlySet<string> = new Set([
  // Recipients and message bodies: the whole payload, wherever an envelope or request body is logged.
  "payload",
  "to",
  "email",
  "phone",
  "recipient",
  "body",
  "html",
  // Credentials.
  "apiKey",
  "api_key",
  "token",
  "accessToken",
  "secret",
  "webhookSecret",
  "password",
  "authorization",
  "x-api-key",
  "cookie",
]);

/** Levels of nesting searched: 3 reaches `req.headers.authorization`. */
export const REDACT_DEPTH = 3;

export const REDACTED = "[redacted]";

/** pino levels below warn (trace 10, debug 20, info 30) are the only ones sampled. */
const WARN_LEVEL = 40;
const keepSymbol = Symbol("herald.log.keep");
type Sampled = Logger & { [keepSymbol]?: boolean };

export interface LoggingOptions {
  level: string;
  /** `service` on every line: herald-gateway, herald-processor, herald-all. */
  service: string;
  /** HERALD_LOG_SAMPLE: share of info/debug/trace lines kept, 0..1; warn, error and fatal are always kept. Default 1. */
  sampleRate?: number;
  /** Human-readable output via pino-pretty; decide with `wantsPrettyLogs`. */
  pretty?: boolean;
  /** Where lines go (tests); default stdout, buffered (`bufferedStdout`). With `pretty`, the prettified lines go there. */
  destination?: DestinationStream;
}

/** How long a buffered line may wait for company before it is written anyway. */
export const LOG_FLUSH_INTERVAL_MS = 100;

/**
 * Stdout written in chunks of up to 4 KiB (or every LOG_FLUSH_INTERVAL_MS)
 * instead of one write(2) per line: with a line per accepted request, writing
 * each line alone took ≈29% of the gateway's CPU samples at 15k requests/s
 * (native write + writeBuffered, bun --cpu-prof-md), blocked on the pipe to
 * whatever collects the logs. Buffered lines are written on a normal exit
 * (pino flushes on exit); a SIGKILL loses at most the last interval's lines.
 */
export function bufferedStdout(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => {
    // Throws once the stream is destroyed (after exit began); nothing is left to write then.
    try {
      stream.flush();
    } catch {
      // already closed
    }
  }, LOG_FLUSH_INTERVAL_MS).unref();
  return stream;
}

/** Pretty output only for a person at a terminal in development; JSON for everything that parses logs. */
export function wantsPrettyLogs(nodeEnv: string, isTTY: boolean | undefined): boolean {
  return nodeEnv === "development" && isTTY === true;
}

/** FNV-1a of the correlation id mapped to [0, 1): the same id gets the same sampling decision in every process. */
export function sampleScore(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 0x1_0000_0000;
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
    // A key lookup per field instead of pino's redact paths: with the wildcards
    // (`*.payload`) those cost ≈4.5 µs per line (6.2 vs 1.7 µs to /dev/null),
    // which one line per accepted request turned into a third of the gateway's throughput.
    formatters: { log: redactSecrets },
  };
  if (rate < 1) {
    options.hooks = {
      logMethod(args, method, level) {
        if (level < WARN_LEVEL) {
          // A correlated child decided once for its whole request; other lines are sampled one by one.
          const keep = (this as Sampled)[keepSymbol] ?? Math.random() < rate;
          if (!keep) return;
        }
        method.apply(this, args);
      },
    };
  }
  const logger = pino(options, opts.pretty ? prettyStream(opts.destination) : (opts.destination ?? bufferedStdout()));
  sampleRates.set(logger, rate);
  return logger;
}

/**
 * A copy of `obj` with every `REDACTED_KEYS` value replaced, down to
 * `REDACT_DEPTH` levels; `obj` itself is returned when nothing matched (the
 * common case: ids and counts), and never mutated. Errors are left to pino's
 * serializer. Child-logger bindings are not passed through it: they carry ids.
 */
export function redactSecrets(obj: Record<string, unknown>, depth = 1): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key in obj) {
    const value = obj[key];
    let next = value;
    if (REDACTED_KEYS.has(key)) next = REDACTED;
    else if (depth < REDACT_DEPTH && typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Error)) {
      next = redactSecrets(value as Record<string, unknown>, depth + 1);
    }
    if (next !== value) {
      copy ??= { ...obj };
      copy[key] = next;
    }
  }
  return copy ?? obj;
}

type PrettyFactory = (o: { sync: boolean; colorize: boolean; destination?: DestinationStream }) => DestinationStream;

function prettyStream(destination: DestinationStream | undefined): DestinationStream {
  // Loaded only for a developer's terminal, so production never pays for it. Synchronous, in-process: no worker thread.
  const pretty = createRequire(import.meta.url)("pino-pretty") as PrettyFactory;
  return pretty({ sync: true, colorize: destination === undefined, ...(destination ? { destination } : {}) });
}

/** Sample rate per root logger, so children made by `logContext` decide with the rate their root was given. */
const sampleRates = new WeakMap<object, number>();

function rootRate(log: Logger): number {
  // Children are prototype-chained to their root (pino's child is Object.create(parent)).
  for (let l: object | null = log; l; l = Object.getPrototypeOf(l) as object | null) {
    const rate = sampleRates.get(l);
    if (rate !== undefined) return rate;
  }
  return 1;
}

/** The ids a request's or a notification's lines carry; absent ones are left out. */
export interface LogContext {
  correlationId?: string | null;
  notificationId?: string;
  tenantId?: string;
  channel?: string;
  lane?: string;
}

/**
 * A child logger carrying the given ids. With sampling on, the keep-or-drop
 * decision for info/debug is made once from the correlation id, so a request's
 * lines in the gateway and its processing lines in the processor are kept or
 * dropped together, never half a story.
 */
export function logContext(log: Logger, ctx: LogContext): Logger {
  const child = log.child(idsOf(ctx)) as Sampled;
  const rate = rootRate(log);
  if (rate < 1 && ctx.correlationId) child[keepSymbol] = sampleScore(ctx.correlationId) < rate;
  return child;
}

function idsOf(ctx: LogContext): Record<string, string> {
  const ids: Record<string, string> = {};
  if (ctx.correlationId) ids.correlationId = ctx.correlationId;
  if (ctx.notificationId) ids.notificationId = ctx.notificationId;
  if (ctx.tenantId) ids.tenantId = ctx.tenantId;
  if (ctx.channel) ids.channel = ctx.channel;
  if (ctx.lane) ids.lane = ctx.lane;
  return ids;
}

/**
 * Writes one info line carrying the ids of `ctx`, for hot paths (one line per
 * request or per notification outcome). The sampling decision comes first and
 * is made from the correlation id, as `logContext` makes it, so the gateway's
 * and the processor's lines of one notification are kept or dropped together;
 * a dropped line costs no child logger and no object.
 */
export function logInfo(log: Logger, ctx: LogContext, msg: string, extra?: Record<string, unknown>): void {
  if (!log.isLevelEnabled("info")) return;
  const rate = rootRate(log);
  if (ctx.correlationId && rate < 1) {
    if (sampleScore(ctx.correlationId) >= rate) return;
    // Kept: the child carries the decision past the root's per-line sampling hook.
    logContext(log, ctx).info(extra ?? {}, msg);
    return;
  }
  log.info(extra ? { ...idsOf(ctx), ...extra } : idsOf(ctx), msg);
}
