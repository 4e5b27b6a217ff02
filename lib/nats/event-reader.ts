import { DeliverPolicy, jetstream, jetstreamManager, type Consumer, type ConsumerMessages, type OrderedConsumerOptions } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { EVENT_TYPES, type EventType } from "../../schemas/enums.ts";
import { LifecycleEvent } from "../../schemas/events.ts";
import type { Topology } from "../../schemas/subjects.ts";

/** What to read from the events stream: the messages whose stream time is in [since, until), filtered. */
export interface EventWindow {
  since: Date;
  /** Exclusive; none: up to the stream's last message as of the start of the read. */
  until?: Date;
  /** Resume at this stream sequence (a page's cursor) instead of at `since`; messages before `since` are still skipped. */
  fromSeq?: number;
  /** One type is filtered by the server (its subject); several are filtered here. */
  types?: readonly EventType[];
  tenant?: string;
  /** Only these notifications' events. */
  ids?: ReadonlySet<string>;
}

/** One message of the window: an event, or a message that is not one (reported, never thrown). */
export type EventRead =
  | { kind: "event"; seq: number; time: Date; event: LifecycleEvent }
  | { kind: "invalid"; seq: number; time: Date; subject: string; error: string };

/** How far a read got: updated as it goes, so a caller that stops early knows where to resume. */
export interface ReadProgress {
  /** Messages taken from the stream, matching or not. */
  scanned: number;
  /** The stream sequence after the last message looked at. */
  nextSeq: number;
}

/** The events stream's extent right now. */
export interface EventStreamBounds {
  firstSeq: number;
  lastSeq: number;
  messages: number;
  /** Its oldest message's time: what is older has aged out (HERALD_EVENTS_MAX_AGE_DAYS). Null when empty. */
  firstTime: Date | null;
}

export async function eventStreamBounds(nc: NatsConnection, topo: Topology): Promise<EventStreamBounds> {
  const { state } = await (await jetstreamManager(nc)).streams.info(topo.streams.events);
  return {
    firstSeq: state.first_seq,
    lastSeq: state.last_seq,
    messages: state.messages,
    firstTime: state.messages > 0 ? new Date(state.first_ts) : null,
  };
}

/**
 * Events are stamped by the processor's and gateway's clocks, the stream by
 * the server's: a read for a notification starts this much before its
 * created_at, so an event stored a moment "before" its row is not missed.
 */
export const EVENT_CLOCK_SKEW_MS = 30_000;

/** Ids up to this many are looked for in the raw text first, so other notifications' events are skipped unparsed. */
const RAW_ID_CHECK = 16;

/**
 * Reads a window of the events stream with an ordered consumer that starts at
 * `since` (DeliverPolicy.StartTime) and stops at the first message at or after
 * `until`, or at the stream's last sequence as of the start, so it ends on a
 * live stream. Breaking out of the loop deletes the consumer.
 */
export async function* readEvents(nc: NatsConnection, topo: Topology, window: EventWindow, progress?: ReadProgress): AsyncGenerator<EventRead> {
  const seen = progress ?? { scanned: 0, nextSeq: window.fromSeq ?? 0 };
  const bounds = await eventStreamBounds(nc, topo);
  const lastSeq = bounds.lastSeq;
  if (bounds.messages === 0 || (window.fromSeq ?? 0) > lastSeq) return;
  if (window.until !== undefined && window.until.getTime() <= window.since.getTime()) return;
  const types = window.types && window.types.length > 0 && window.types.length < EVENT_TYPES.length ? new Set(window.types) : undefined;
  const [onlyType] = types?.size === 1 ? types : [];
  const opts: Partial<OrderedConsumerOptions> = {
    filter_subjects: onlyType === undefined ? topo.wildcards.events : topo.eventSubject(onlyType),
    ...(window.fromSeq !== undefined
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: window.fromSeq }
      : { opt_start_time: window.since.toISOString() }),
  };
  const consumer = await jetstream(nc).consumers.get(topo.streams.events, opts);
  let messages: ConsumerMessages | undefined;
  try {
    if ((await consumer.info(true)).num_pending === 0) return;
    messages = await consumer.consume({ max_messages: 512 });
    const sinceNs = BigInt(window.since.getTime()) * 1_000_000n;
    const untilNs = window.until === undefined ? undefined : BigInt(window.until.getTime()) * 1_000_000n;
    const typeOf = subjectType(topo);
    const rawIds = window.ids !== undefined && window.ids.size <= RAW_ID_CHECK ? [...window.ids] : undefined;
    for await (const m of messages) {
      if (m.seq > lastSeq) break;
      const ns = m.timestampNanos;
      if (untilNs !== undefined && ns >= untilNs) break;
      seen.scanned++;
      seen.nextSeq = m.seq + 1;
      const last = m.seq >= lastSeq || m.info.pending === 0;
      if (ns >= sinceNs && (types === undefined || types.has(typeOf(m.subject) as EventType))) {
        const text = m.string();
        if (rawIds === undefined || rawIds.some((id) => text.includes(id))) {
          const read = parse(m.seq, m.time, m.subject, text);
          if (read.kind === "invalid" || matches(read.event, window)) yield read;
        }
      }
      if (last) break;
    }
  } finally {
    messages?.stop();
    await deleteQuietly(consumer);
  }
}

function subjectType(topo: Topology): (subject: string) => string {
  const prefix = topo.eventSubject("accepted").slice(0, -"accepted".length);
  return (subject) => (subject.startsWith(prefix) ? subject.slice(prefix.length) : "");
}

function matches(event: LifecycleEvent, window: EventWindow): boolean {
  if (window.tenant !== undefined && event.tenantId !== window.tenant) return false;
  return window.ids === undefined || window.ids.has(event.id);
}

function parse(seq: number, time: Date, subject: string, text: string): EventRead {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: "invalid", seq, time, subject, error: "not JSON" };
  }
  const parsed = LifecycleEvent.safeParse(json);
  if (!parsed.success)
    return { kind: "invalid", seq, time, subject, error: parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ") };
  return { kind: "event", seq, time, event: parsed.data };
}

async function deleteQuietly(consumer: Consumer): Promise<void> {
  // An ordered consumer is ephemeral and goes by itself after its inactive threshold; deleting now only frees it sooner.
  await consumer.delete().catch(() => false);
}
