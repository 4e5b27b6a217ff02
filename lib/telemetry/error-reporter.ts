/**
 * Error tracking: unexpected errors (a gateway 500, a processor batch that
 * threw, a crash) sent to Sentry, or anything that speaks its envelope
 * protocol, with `fetch` only, so the gateway core can use it on any runtime.
 *
 * Bounded: reports wait in a small queue (new ones dropped when it is full),
 * go out one at a time, each POST with a deadline, and `report` never blocks,
 * awaits or throws, so a slow or unreachable Sentry costs reports, never
 * requests. Scrubbed: messages and stack frames lose email addresses, phone
 * numbers and bearer credentials; callers pass ids and a route, never a body.
 */
import { ConfigError } from "../../schemas/config.ts";

/** Where a report came from and what it joins with: the trace and the request's correlation id. */
export interface ErrorContext {
  traceId?: string | undefined;
  spanId?: string | undefined;
  requestId?: string | undefined;
  /** Short, bounded values (route, method, lane); scrubbed like the message. */
  tags?: Record<string, string | number | undefined>;
  /** Request headers already reduced to `SAFE_HEADERS`. */
  headers?: Record<string, string>;
  /** Defaults to "error"; an uncaught exception is "fatal". */
  level?: "error" | "fatal";
}

/** Sends unexpected errors somewhere an operator looks; `NOOP_ERROR_REPORTER` when none is configured. */
export interface ErrorReporter {
  readonly enabled: boolean;
  /** Queues a report; returns at once and never throws. */
  report(err: unknown, ctx?: ErrorContext): void;
  /** Waits (at most `timeoutMs`) for queued reports to go out: on shutdown, before exit. */
  flush(timeoutMs?: number): Promise<void>;
}

export const NOOP_ERROR_REPORTER: ErrorReporter = { enabled: false, report() {}, flush: async () => {} };

/** Request headers a report may carry: none identifies a person or holds a credential. */
export const SAFE_HEADERS: readonly string[] = ["content-type", "content-length", "user-agent", "accept", "x-request-id"];

/** The safe subset of a request's headers. */
export function safeHeaders(lookup: (name: string) => string | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of SAFE_HEADERS) {
    const value = lookup(name);
    if (value) out[name] = scrub(value).slice(0, 200);
  }
  return out;
}

export interface SentryDsn {
  /** `<scheme>://<host>[:port]` */
  origin: string;
  publicKey: string;
  projectId: string;
  /** The envelope endpoint: `<origin>[/path]/api/<projectId>/envelope/`. */
  envelopeUrl: string;
  dsn: string;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Reads `https://<publicKey>@host[:port][/path]/<projectId>` (http only for loopback); else a reason. */
export function parseSentryDsn(dsn: string): SentryDsn | string {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    return "must be a URL: https://<publicKey>@<host>/<projectId>";
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) return "must be https (http only for localhost)";
  if (!/^[A-Za-z0-9]+$/.test(url.username)) return "must name the public key before the host: https://<publicKey>@<host>/<projectId>";
  if (url.password !== "") return "must not carry a secret key (Sentry's envelope endpoint needs the public key only)";
  const parts = url.pathname.split("/").filter((p) => p !== "");
  const projectId = parts.pop();
  if (projectId === undefined || !/^\d+$/.test(projectId)) return "must end in the numeric project id: https://<publicKey>@<host>/<projectId>";
  if (url.search !== "" || url.hash !== "") return "must not carry a query or fragment";
  const path = parts.length > 0 ? `/${parts.join("/")}` : "";
  const origin = `${url.protocol}//${url.host}`;
  return { origin, publicKey: url.username, projectId, envelopeUrl: `${origin}${path}/api/${projectId}/envelope/`, dsn };
}

const EMAIL = /[\w.%+-]+@[\w-]+(?:\.[\w-]+)+/g;
const PHONE = /\+?\d[\d ().-]{6,}\d/g;
const BEARER = /\b(bearer|basic)\s+[\w~+/.=-]+/gi;
const KEY_LIKE = /\b(?:hk|sk|pk|whsec|rk|key)_[\w-]{8,}/gi;

/** A string with email addresses, phone numbers and credentials replaced. */
export function scrub(text: string): string {
  return text.replace(BEARER, "$1 [redacted]").replace(KEY_LIKE, "[redacted]").replace(EMAIL, "[email]").replace(PHONE, "[number]");
}

export interface StackFrame {
  function?: string;
  filename?: string;
  lineno?: number;
  colno?: number;
  in_app?: boolean;
}

const V8_FRAME = /^\s*at (?:(.+?) \()?(.+?):(\d+):(\d+)\)?$/;
const JSC_FRAME = /^\s*(?:(.*?)@)?(.+?):(\d+):(\d+)$/;

/** Frames of a V8 or JavaScriptCore stack, oldest first as Sentry wants them; at most 50. */
export function stackFrames(stack: string | undefined): StackFrame[] {
  if (!stack) return [];
  const frames: StackFrame[] = [];
  for (const line of stack.split("\n")) {
    const m = V8_FRAME.exec(line) ?? JSC_FRAME.exec(line);
    if (!m?.[2]) continue;
    const filename = scrub(m[2]);
    frames.push({
      ...(m[1] ? { function: scrub(m[1]) } : {}),
      filename,
      lineno: Number(m[3]),
      colno: Number(m[4]),
      in_app: !filename.includes("node_modules"),
    });
    if (frames.length === 50) break;
  }
  return frames.reverse();
}

export interface SentryEventOptions {
  release: string;
  environment: string;
  serverName?: string;
  /** `gateway`, `processor` or `all`: the `service` tag. */
  service: string;
}

function exceptionOf(err: unknown): { type: string; value: string; stacktrace?: { frames: StackFrame[] } }[] {
  const chain: unknown[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && chain.length < 5; e = e instanceof Error ? e.cause : undefined) chain.push(e);
  // Sentry lists a chain oldest (the root cause) first.
  return chain.reverse().map((e) => {
    if (!(e instanceof Error)) return { type: "Error", value: scrub(String(e)).slice(0, 1000) };
    const frames = stackFrames(e.stack);
    return { type: e.name, value: scrub(e.message).slice(0, 1000), ...(frames.length > 0 ? { stacktrace: { frames } } : {}) };
  });
}

/** The event JSON of one report. */
export function sentryEvent(err: unknown, ctx: ErrorContext, opts: SentryEventOptions, eventId: string, now = new Date()): Record<string, unknown> {
  const tags: Record<string, string> = { service: opts.service };
  for (const [k, v] of Object.entries(ctx.tags ?? {})) if (v !== undefined) tags[k] = scrub(String(v)).slice(0, 200);
  if (ctx.requestId) tags.request_id = scrub(ctx.requestId).slice(0, 128);
  if (ctx.traceId) tags.trace_id = ctx.traceId;
  return {
    event_id: eventId,
    timestamp: now.getTime() / 1000,
    platform: "node",
    level: ctx.level ?? "error",
    logger: `herald-${opts.service}`,
    release: opts.release,
    environment: opts.environment,
    ...(opts.serverName ? { server_name: opts.serverName } : {}),
    exception: { values: exceptionOf(err) },
    tags,
    ...(ctx.traceId ? { contexts: { trace: { trace_id: ctx.traceId, ...(ctx.spanId ? { span_id: ctx.spanId } : {}) } } } : {}),
    ...(ctx.headers ? { request: { headers: ctx.headers } } : {}),
  };
}

/** Sentry's envelope: the envelope header, the item header (with the payload's byte length), the event. */
export function sentryEnvelope(event: Record<string, unknown>, dsn: string, now = new Date()): string {
  const payload = JSON.stringify(event);
  const header = JSON.stringify({ event_id: event.event_id, dsn, sent_at: now.toISOString() });
  const item = JSON.stringify({ type: "event", content_type: "application/json", length: new TextEncoder().encode(payload).length });
  return `${header}\n${item}\n${payload}\n`;
}

export interface SentryReporterOptions extends SentryEventOptions {
  dsn: SentryDsn;
  /** The `herald/<version>` of `sentry_client`. */
  version: string;
  /** Reports waiting at most; newer ones are dropped past it. Default 32. */
  maxQueue?: number;
  /** One POST's deadline. Default 3 s. */
  timeoutMs?: number;
  /** Told why a report could not be sent (a log line); never a report itself. */
  onDropped?: (reason: string) => void;
  fetch?: typeof fetch;
}

/** A reporter posting to the DSN's project; `report` enqueues, one send at a time drains the queue. */
export function createSentryReporter(opts: SentryReporterOptions): ErrorReporter {
  const maxQueue = opts.maxQueue ?? 32;
  const timeoutMs = opts.timeoutMs ?? 3_000;
  const send = opts.fetch ?? fetch;
  const auth = `Sentry sentry_version=7, sentry_key=${opts.dsn.publicKey}, sentry_client=herald/${opts.version}`;
  const queue: string[] = [];
  let draining: Promise<void> | null = null;
  const dropped = (reason: string) => {
    try {
      opts.onDropped?.(reason);
    } catch {
      // A logger that throws must not turn a lost report into a lost request.
    }
  };

  async function post(body: string): Promise<void> {
    try {
      const res = await send(opts.dsn.envelopeUrl, {
        method: "POST",
        headers: { "content-type": "application/x-sentry-envelope", "x-sentry-auth": auth },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) dropped(`Sentry answered ${res.status}`);
    } catch (err) {
      dropped(err instanceof Error ? err.message : String(err));
    }
  }

  /** Reports refused by a full queue since the last word about it: told once per send, not once per report, in an outage's flood of 500s. */
  let refused = 0;
  const tellRefused = () => {
    if (refused === 0) return;
    dropped(`${refused} reports dropped: the report queue was full`);
    refused = 0;
  };

  async function drain(): Promise<void> {
    for (let body = queue.shift(); body !== undefined; body = queue.shift()) {
      await post(body);
      tellRefused();
    }
    draining = null;
  }

  return {
    enabled: true,
    report(err, ctx = {}) {
      try {
        if (queue.length >= maxQueue) {
          refused++;
          return;
        }
        const now = new Date();
        const event = sentryEvent(err, ctx, opts, crypto.randomUUID().replaceAll("-", ""), now);
        queue.push(sentryEnvelope(event, opts.dsn.dsn, now));
        draining ??= drain();
      } catch (e) {
        dropped(e instanceof Error ? e.message : String(e));
      }
    },
    async flush(ms = 2_000) {
      if (draining === null) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      });
      await Promise.race([draining, expired]);
      clearTimeout(timer);
    },
  };
}

/** What a process knows to report as: its version, NODE_ENV, host and service. */
export interface ReporterIdentity {
  version: string;
  environment: string;
  serverName?: string;
  service: string;
  onDropped?: (reason: string) => void;
}

/** SENTRY_DSN's reporter, or `NOOP_ERROR_REPORTER` when it is unset; throws `ConfigError` naming the key when it is not a DSN. */
export function configuredErrorReporter(dsnText: string | undefined, who: ReporterIdentity): ErrorReporter {
  if (!dsnText) return NOOP_ERROR_REPORTER;
  const dsn = parseSentryDsn(dsnText);
  if (typeof dsn === "string") throw new ConfigError(["SENTRY_DSN"], `SENTRY_DSN ${dsn}`);
  return createSentryReporter({ ...who, dsn, release: `herald@${who.version}` });
}
