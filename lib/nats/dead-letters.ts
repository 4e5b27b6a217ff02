import { jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { DeadLetterRecord, type InvalidDeadLetter } from "../../schemas/dead-letter.ts";
import { CHANNELS, type Channel } from "../../schemas/enums.ts";
import type { Topology } from "../../schemas/subjects.ts";
import { NOOP_METRICS, timePublish, type MetricsRecorder } from "../telemetry/recorder.ts";
import type { AckPublisher } from "./ack-publisher.ts";

/** Publishes a dead letter and waits for the stream's ack; the msg id makes a repeat of this step a no-op. */
export function publishDeadLetter(
  publisher: AckPublisher,
  subject: string,
  record: DeadLetterRecord,
  msgId: string,
  metrics: MetricsRecorder = NOOP_METRICS,
): Promise<void> {
  return timePublish(metrics, "dlq", () => publisher.publish(subject, JSON.stringify(record), msgId));
}

/** `<ns>.v1.dlq.<channel>`; garbage whose channel is unknown goes to `<ns>.v1.dlq.invalid`. */
export function dlqSubjectFor(topo: Topology, workSubject: string): string {
  const token = workSubject.slice(workSubject.lastIndexOf(".") + 1);
  const channel = CHANNELS.find((c): c is Channel => c === token);
  return channel ? topo.dlqSubject(channel) : topo.wildcards.dlq.replace(/>$/, "invalid");
}

/** The dead-letter stream's `invalid` records after sequence `after`, oldest first; `next` is null once the stream's end is reached. */
export async function listInvalidDeadLetters(
  nc: NatsConnection,
  topo: Topology,
  query: { limit: number; after?: number },
): Promise<{ data: InvalidDeadLetter[]; next: number | null }> {
  const { state } = await (await jetstreamManager(nc)).streams.info(topo.streams.dlq);
  const start = Math.max(state.first_seq, (query.after ?? 0) + 1);
  const data: InvalidDeadLetter[] = [];
  if (state.messages === 0 || start > state.last_seq) return { data, next: null };
  const consumer = await jetstream(nc).consumers.get(topo.streams.dlq, { opt_start_seq: start });
  let seen = start - 1;
  try {
    while (data.length < query.limit && seen < state.last_seq) {
      let got = 0;
      // Batches, not one request per sequence: garbage is rare among the stream's records.
      for await (const m of await consumer.fetch({ max_messages: 256, expires: 2000 })) {
        got++;
        seen = m.seq;
        const record = DeadLetterRecord.safeParse(jsonOf(m));
        if (record.success && record.data.reason === "invalid")
          data.push({ seq: m.seq, subject: record.data.subject, error: record.data.error, failedAt: record.data.failedAt });
        if (data.length >= query.limit || seen >= state.last_seq) break;
      }
      // The rest aged out meanwhile.
      if (got === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => false);
  }
  return { data, next: seen < state.last_seq ? seen : null };
}

/** A stored message's JSON, or null for bytes that are not JSON (published there by hand). */
function jsonOf(m: JsMsg): unknown {
  try {
    return m.json();
  } catch {
    return null;
  }
}

/** Whether a dead letter is about this tenant's user: its envelope, or the raw message of an `invalid` one if that names them. */
function isAbout(data: unknown, tenantId: string, userId: string): boolean {
  const record = DeadLetterRecord.safeParse(data);
  if (record.success) {
    if (record.data.reason !== "invalid") return record.data.envelope.tenantId === tenantId && record.data.envelope.userId === userId;
    try {
      const raw = JSON.parse(record.data.raw) as unknown;
      return typeof raw === "object" && raw !== null && "tenantId" in raw && "userId" in raw && raw.tenantId === tenantId && raw.userId === userId;
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * Deletes (and overwrites on disk) every dead letter of the tenant's user;
 * how many. A scan of the whole dead-letter stream with an ephemeral
 * consumer, in batches: its cost follows the stream's size, which its
 * retention (HERALD_DLQ_MAX_AGE_DAYS) bounds.
 */
export async function eraseUserDeadLetters(nc: NatsConnection, topo: Topology, tenantId: string, userId: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(topo.streams.dlq);
  if (state.messages === 0) return 0;
  const consumer = await jetstream(nc).consumers.get(topo.streams.dlq, { opt_start_seq: state.first_seq });
  const mine: number[] = [];
  let seen = state.first_seq - 1;
  try {
    while (seen < state.last_seq) {
      let got = 0;
      for await (const m of await consumer.fetch({ max_messages: 256, expires: 2000 })) {
        got++;
        seen = m.seq;
        if (isAbout(jsonOf(m), tenantId, userId)) mine.push(m.seq);
        if (seen >= state.last_seq) break;
      }
      if (got === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => false);
  }
  let deleted = 0;
  for (const seq of mine) {
    // A record aged out (or deleted by a concurrent erasure) meanwhile is gone already.
    const gone = await jsm.streams.deleteMessage(topo.streams.dlq, seq, true).catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound) return false;
      throw err;
    });
    if (gone) deleted++;
  }
  return deleted;
}
