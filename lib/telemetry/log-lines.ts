/**
 * The hot path of Herald's log lines, with no I/O of its own so the gateway
 * core can use it on any runtime: redaction, sampling by correlation id, and
 * `logInfo`, which writes a root logger's info line directly.
 */
import pino, { type DestinationStream, type Logger } from "pino";

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

const keepSymbol = Symbol("herald.log.keep");
type Sampled = Logger & { [keepSymbol]?: boolean };

/** Marks a child logger's sampling decision, made once from its correlation id. */
export function markSampled(log: Logger, keep: boolean): void {
  (log as Sampled)[keepSymbol] = keep;
}

/** The sampling decision a logger carries, if any. */
export function sampledDecision(log: Logger): boolean | undefined {
  return (log as Sampled)[keepSymbol];
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

export interface RootSettings {
  /** HERALD_LOG_SAMPLE as given to the root. */
  rate: number;
  /** `logInfo` may write its line itself (see `directInfoLine`). */
  directLines: boolean;
}

/** What `createHeraldLogger` decided per root logger, so children made by `logContext` follow their root. */
const roots = new WeakMap<object, RootSettings>();

/** Records a root logger's settings (`createHeraldLogger` calls it). */
export function registerRoot(log: Logger, settings: RootSettings): void {
  roots.set(log, settings);
}
const FOREIGN: RootSettings = { rate: 1, directLines: false };

function rootOf(log: Logger): RootSettings {
  // Children are prototype-chained to their root (pino's child is Object.create(parent)).
  for (let l: object | null = log; l; l = Object.getPrototypeOf(l) as object | null) {
    const settings = roots.get(l);
    if (settings !== undefined) return settings;
  }
  return FOREIGN;
}

function rootRate(log: Logger): number {
  return rootOf(log).rate;
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
  const child = log.child(idsOf(ctx));
  const rate = rootRate(log);
  if (rate < 1 && ctx.correlationId) markSampled(child, sampleScore(ctx.correlationId) < rate);
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
  const root = rootOf(log);
  if (ctx.correlationId && root.rate < 1 && sampleScore(ctx.correlationId) >= root.rate) return;
  if (root.directLines) {
    directInfoLine(log, ctx, msg, extra);
    return;
  }
  // A kept line must not be sampled again by the root's per-line hook: a child carries the decision.
  if (ctx.correlationId && root.rate < 1) logContext(log, ctx).info(extra ?? {}, msg);
  else log.info(extra ? { ...idsOf(ctx), ...extra } : idsOf(ctx), msg);
}

/** pino's internal symbols; its browser build (workerd's) has none, and no logger there writes direct lines. */
const symbols = (pino as { symbols?: typeof pino.symbols }).symbols;
/** The two pino internals a direct line needs (public as `pino.symbols`): its bindings as JSON (`,"service":"…"`) and its destination. */
function internalsOf(log: Logger): { chindings: string; stream: DestinationStream } {
  const l = log as unknown as Record<symbol, unknown>;
  if (symbols === undefined) throw new Error("pino's build has no symbols: direct log lines need pino's Node build");
  return { chindings: l[symbols.chindingsSym] as string, stream: l[symbols.streamSym] as DestinationStream };
}
const INFO_PREFIX = '{"level":30,"time":';

/**
 * The line pino would write for `log.info({...ids, ...extra}, msg)`, byte for
 * byte (logging.test.ts compares them), built directly: the ids are strings
 * and the extras counts, so pino's general path — formatter, per-key
 * serializer lookup, safe stringify — is not needed for them.
 * Only for loggers made by `createHeraldLogger` without pretty output: epoch
 * time, no custom level or message key. Extras still go through redaction.
 */
function directInfoLine(log: Logger, ctx: LogContext, msg: string, extra: Record<string, unknown> | undefined): void {
  const { chindings, stream } = internalsOf(log);
  let line = INFO_PREFIX + Date.now() + chindings;
  if (ctx.correlationId) line += `,"correlationId":${JSON.stringify(ctx.correlationId)}`;
  if (ctx.notificationId) line += `,"notificationId":${JSON.stringify(ctx.notificationId)}`;
  if (ctx.tenantId) line += `,"tenantId":${JSON.stringify(ctx.tenantId)}`;
  if (ctx.channel) line += `,"channel":${JSON.stringify(ctx.channel)}`;
  if (ctx.lane) line += `,"lane":${JSON.stringify(ctx.lane)}`;
  if (extra) {
    const safe = redactSecrets(extra);
    for (const key in safe) {
      const value = safe[key];
      if (value !== undefined && typeof value !== "function") line += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
    }
  }
  stream.write(`${line},"msg":${JSON.stringify(msg)}}\n`);
}
