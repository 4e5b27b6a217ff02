import { ROOT_CONTEXT, type Context } from "@opentelemetry/api";
import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/nats-core";
import { injectTraceContext } from "../telemetry/nats-context.ts";
import { PublishHeaders } from "./publish-headers.ts";

/** Why an acked publish did not happen; the publisher turns it into a 503. */
export class AckError extends Error {
  override readonly name = "AckError";
}

export interface AckPublisherOptions {
  /** How long to wait for the PubAck, counted from the publish call. */
  timeoutMs: number;
  /** Publishes awaiting their ack at most; later ones queue in order. Default 4096. */
  maxInFlight?: number;
  /**
   * What a failed publish rejects with (default: the AckError or connection
   * error itself). One function for the window, so the caller needs no
   * per-message closure to translate errors.
   */
  failure?: (subject: string, err: Error) => Error;
}

/** One message for a JetStream stream; `msgId` becomes `Nats-Msg-Id`, so the stream drops a replay. */
export interface OutMessage {
  subject: string;
  data: Uint8Array | string;
  msgId: string;
}

export interface PublishReport {
  failed: number;
  /** Why the first failure failed. */
  firstError?: string;
}

/**
 * The one way Herald publishes to JetStream: every publish awaits its
 * PubAck, many are in flight at once over one reply subscription.
 */
export interface AckPublisher {
  /** Resolves once stored; rejects when not. `trace`: the context whose traceparent the message carries. */
  publish(subject: string, data: Uint8Array | string, msgId: string, trace?: Context): Promise<void>;
  /** Publishes every message; resolves once each is stored or has failed. Never rejects. */
  publishAll(messages: readonly OutMessage[]): Promise<PublishReport>;
  /** Fails what is still waiting and drops the reply subscription. */
  close(): void;
}

/** Enough in flight for a few concurrent 1,000-item batches; more only queues inside nats-server. */
export const DEFAULT_MAX_IN_FLIGHT = 4096;

interface Pending {
  subject: string;
  /** Emptied once handed to the connection, so 4,000 acks in flight do not pin 4,000 payloads. */
  data: Uint8Array | string;
  msgId: string;
  deadline: number;
  /** The caller's trace context: the headers are built at flush, outside the publish span. */
  ctx: Context;
  resolve(): void;
  reject(err: Error): void;
}

/** The JetStream PubAck body: a stream and a sequence, or an API error. */
interface PubAck {
  stream?: string;
  error?: { code?: number; description?: string };
}

/**
 * JetStream publishes over one wildcard reply subscription, instead of
 * `js.publish` (a request each: a mux entry, a timer, a `Promise.race`, an
 * Error for the async stack trace). Acks are matched by reply token; one timer
 * expires overdue publishes in order (every publish gets the same timeout, so
 * deadlines are sorted by insertion).
 *
 * Publishes are sent in a `setImmediate` after the current event-loop turn
 * rather than one by one: every request handled in that turn then shares one
 * socket write to nats-server (strace before: one sendto per publish).
 */
export function createAckPublisher(nc: NatsConnection, opts: AckPublisherOptions): AckPublisher {
  const prefix = `${createInbox()}.`;
  const maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const inFlight = new Map<string, Pending>();
  const queue: Pending[] = [];
  let next = 0;
  let flushScheduled = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const failure = opts.failure ?? ((_subject: string, err: Error) => err);

  function fail(entry: Pending, err: Error): void {
    entry.reject(failure(entry.subject, err));
  }

  function settle(token: string, err: Error | null): void {
    const entry = inFlight.get(token);
    if (entry === undefined) return; // expired already; a late ack changes nothing
    inFlight.delete(token);
    if (err) fail(entry, err);
    else entry.resolve();
  }

  function onAck(err: Error | null, msg: Msg): void {
    if (err) {
      failAll(err);
      return;
    }
    const token = msg.subject.slice(prefix.length);
    settle(token, ackError(msg));
    if (queue.length > 0) scheduleFlush();
  }

  function failAll(err: Error): void {
    for (const entry of inFlight.values()) fail(entry, err);
    inFlight.clear();
    for (const entry of queue.splice(0)) fail(entry, err);
  }

  function expire(): void {
    timer = null;
    const now = performance.now();
    for (const [token, entry] of inFlight) {
      if (entry.deadline > now) break;
      settle(token, new AckError(`no PubAck within ${opts.timeoutMs} ms`));
    }
    if (queue.length > 0) flush();
    arm();
  }

  function arm(): void {
    if (timer !== null) return;
    const oldest = inFlight.values().next();
    if (oldest.done) return;
    timer = setTimeout(expire, Math.max(0, oldest.value.deadline - performance.now()) + 1);
  }

  function send(entry: Pending): void {
    const token = (next++).toString(36);
    try {
      const h = new PublishHeaders();
      h.set("Nats-Msg-Id", entry.msgId);
      // traceparent / tracestate, so the processor's spans continue the request's trace.
      if (entry.ctx !== ROOT_CONTEXT) injectTraceContext(entry.ctx, h);
      nc.publish(entry.subject, entry.data, { reply: prefix + token, headers: h });
    } catch (err) {
      fail(entry, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    entry.data = EMPTY;
    inFlight.set(token, entry);
  }

  function flush(): void {
    flushScheduled = false;
    const now = performance.now();
    while (queue.length > 0 && inFlight.size < maxInFlight) {
      const entry = queue.shift() as Pending;
      if (entry.deadline <= now) fail(entry, new AckError(`not sent within ${opts.timeoutMs} ms: the window stayed full`));
      else send(entry);
    }
    arm();
  }

  function scheduleFlush(): void {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flush);
  }

  let subscription: Subscription | null = null;
  const publish: AckPublisher["publish"] = (subject, data, msgId, trace = ROOT_CONTEXT) => {
    if (nc.isClosed()) return Promise.reject(failure(subject, new AckError("the NATS connection is closed")));
    if (subscription === null) {
      subscription = nc.subscribe(`${prefix}*`, { callback: onAck });
      void nc.closed().then(() => failAll(new AckError("the NATS connection closed")));
    }
    return new Promise<void>((resolve, reject) => {
      queue.push({ subject, data, msgId, deadline: performance.now() + opts.timeoutMs, ctx: trace, resolve, reject });
      scheduleFlush();
    });
  };

  return {
    publish,
    async publishAll(messages) {
      const results = await Promise.allSettled(messages.map((m) => publish(m.subject, m.data, m.msgId)));
      const report: PublishReport = { failed: 0 };
      for (const r of results) {
        if (r.status === "fulfilled") continue;
        report.failed += 1;
        report.firstError ??= r.reason instanceof Error ? r.reason.message : String(r.reason);
      }
      return report;
    },
    close() {
      failAll(new AckError("publisher closed"));
      subscription?.unsubscribe();
      subscription = null;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}

const EMPTY = new Uint8Array(0);

/** `{"stream":"` — how nats-server starts every successful PubAck. */
const PUBACK_PREFIX = new TextEncoder().encode('{"stream":"');

function startsWithPubAck(data: Uint8Array): boolean {
  if (data.length <= PUBACK_PREFIX.length) return false;
  for (let i = 0; i < PUBACK_PREFIX.length; i++) if (data[i] !== PUBACK_PREFIX[i]) return false;
  return true;
}

/** Null for a PubAck, else why the message was not stored. */
function ackError(msg: Msg): Error | null {
  // No stream listens on the subject: the server answers with a bare 503 status.
  if (msg.data.length === 0 && msg.headers?.code === 503) return new AckError("no stream takes this subject (no responders)");
  // The common answer, recognised from its bytes: no string and no object per ack (as the processor does).
  if (startsWithPubAck(msg.data)) return null;
  let ack: PubAck;
  try {
    ack = msg.json<PubAck>();
  } catch {
    return new AckError("unreadable PubAck");
  }
  if (ack.error) return new AckError(`JetStream refused the message: ${ack.error.description ?? ack.error.code ?? "unknown error"}`);
  return typeof ack.stream === "string" && ack.stream !== "" ? null : new AckError("invalid PubAck");
}
