import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { PublishHeaders } from "../bin/nats/publish-headers.ts";

/** One message for a JetStream stream; `msgId` becomes `Nats-Msg-Id`, so the stream drops a replay. */
export interface OutMessage {
  subject: string;
  data: string;
  msgId: string;
}

export interface PublishReport {
  failed: number;
  /** Why the first failure failed. */
  firstError?: string;
}

/**
 * JetStream publishes with acks, many in flight, settled per group: the
 * PublishAsync pattern of the Go client. `js.publish` builds a request per
 * message — a muxed inbox entry, a deferred, a timer, a race and a couple of
 * Error objects for async stack traces — which made the lifecycle events a
 * quarter of the processor's CPU. Here every reply lands on one wildcard
 * subscription, and a group has one timer.
 */
export interface AckedPublisher {
  /** Publishes every message; resolves once each is acked or has failed (timed out included). Never rejects. */
  publishAll(messages: OutMessage[]): Promise<PublishReport>;
  /** Fails what is still waiting and drops the reply subscription. */
  close(): void;
}

interface Group {
  waiting: number;
  report: PublishReport;
  tokens: string[];
  timer: ReturnType<typeof setTimeout> | undefined;
  done: (report: PublishReport) => void;
}

export function createAckedPublisher(nc: NatsConnection, opts: { timeoutMs: number }): AckedPublisher {
  const inbox = createInbox();
  const waiting = new Map<string, Group>();
  const decoder = new TextDecoder();
  let next = 0;

  const settle = (group: Group, token: string, error: string | undefined) => {
    if (!waiting.delete(token)) return;
    if (error !== undefined) {
      group.report.failed += 1;
      group.report.firstError ??= error;
    }
    group.waiting -= 1;
    if (group.waiting === 0) finish(group);
  };
  const finish = (group: Group) => {
    clearTimeout(group.timer);
    group.done(group.report);
  };
  const giveUp = (group: Group, why: string) => {
    for (const token of group.tokens) settle(group, token, why);
  };

  const sub: Subscription = nc.subscribe(`${inbox}.*`, {
    callback: (err: Error | null, msg: Msg) => {
      const token = msg.subject.slice(inbox.length + 1);
      const group = waiting.get(token);
      if (!group) return; // late: its group timed out already
      settle(group, token, err ? err.message : ackError(msg, decoder));
    },
  });

  return {
    publishAll(messages) {
      if (messages.length === 0) return Promise.resolve({ failed: 0 });
      return new Promise<PublishReport>((resolve) => {
        const group: Group = { waiting: messages.length, report: { failed: 0 }, tokens: [], timer: undefined, done: resolve };
        group.timer = setTimeout(() => giveUp(group, `no ack within ${opts.timeoutMs} ms`), opts.timeoutMs);
        for (const m of messages) {
          const token = (next++).toString(36);
          group.tokens.push(token);
          waiting.set(token, group);
          // Written as wire text: nats.js's headers() spent 7% of the processor's samples canonicalising this one key.
          const h = new PublishHeaders();
          h.append("Nats-Msg-Id", m.msgId);
          try {
            nc.publish(m.subject, m.data, { reply: `${inbox}.${token}`, headers: h });
          } catch (err) {
            settle(group, token, err instanceof Error ? err.message : String(err));
          }
        }
      });
    },
    close() {
      const groups = new Set(waiting.values());
      for (const g of groups) giveUp(g, "publisher closed");
      sub.unsubscribe();
    },
  };
}

/** Undefined for a PubAck (a duplicate included); the reason otherwise. */
function ackError(msg: Msg, decoder: TextDecoder): string | undefined {
  // An empty 503 status: no stream listens on the subject.
  if (msg.data.length === 0) return msg.headers?.code === 503 ? "no responders: no stream for the subject" : "empty reply";
  const text = decoder.decode(msg.data);
  // The server writes a PubAck as {"stream":…}; parsing only the rest saves a JSON.parse per event.
  if (text.startsWith('{"stream":')) return undefined;
  try {
    const ack = JSON.parse(text) as { stream?: unknown; error?: { description?: unknown } };
    if (ack.error) return `stream error: ${String(ack.error.description ?? "unknown")}`;
    return typeof ack.stream === "string" ? undefined : "invalid ack";
  } catch {
    return "invalid ack";
  }
}
