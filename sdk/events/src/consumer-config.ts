import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type ConsumerConfig, type JetStreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { EventType } from "../../../schemas/enums.ts";
import type { Topology } from "../../../schemas/subjects.ts";

/** Where a new consumer starts: only events published from now on, every event the stream keeps, those from a time on, or from a stream sequence on. */
export type StartAt = "new" | "all" | Date | { seq: number };

export interface ConsumerPlan {
  config: Partial<ConsumerConfig>;
  /** The types the subscriber filters by itself, or null when the server filters (one type, or all). */
  clientFilter: ReadonlySet<EventType> | null;
}

export interface PlanInput {
  topo: Topology;
  types?: readonly EventType[] | undefined;
  durable?: string | undefined;
  startAt: StartAt;
  concurrency: number;
  maxDeliver: number;
  ackWaitMs: number;
  /** How long the server keeps an ephemeral consumer nobody pulls from. */
  inactiveMs: number;
}

function startPolicy(startAt: StartAt): Partial<ConsumerConfig> {
  if (startAt === "new") return { deliver_policy: DeliverPolicy.New };
  if (startAt === "all") return { deliver_policy: DeliverPolicy.All };
  if (startAt instanceof Date) return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: startAt.toISOString() };
  return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startAt.seq };
}

/**
 * The consumer a subscription needs. One filter subject per consumer is all
 * nats-server 2.9 offers, so several types are read through the events
 * wildcard and filtered here; `max_ack_pending` is the in-flight bound.
 */
export function consumerPlan(p: PlanInput): ConsumerPlan {
  const types = p.types === undefined ? [] : [...new Set(p.types)];
  const filter = types.length === 1 && types[0] !== undefined ? p.topo.eventSubject(types[0]) : p.topo.wildcards.events;
  const config: Partial<ConsumerConfig> = {
    ack_policy: AckPolicy.Explicit,
    filter_subject: filter,
    max_ack_pending: p.concurrency,
    max_deliver: p.maxDeliver,
    ack_wait: nanos(p.ackWaitMs),
    ...startPolicy(p.startAt),
  };
  if (p.durable !== undefined) config.durable_name = p.durable;
  else config.inactive_threshold = nanos(p.inactiveMs);
  return { config, clientFilter: types.length > 1 ? new Set(types) : null };
}

/**
 * Creates the consumer, or for a durable that exists, keeps its position and
 * updates what may change on a live consumer; a durable that filters another
 * subject is refused rather than silently reading what it did before.
 * Resolves to the consumer's name.
 */
export async function ensureConsumer(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig>): Promise<string> {
  const name = config.durable_name;
  if (name !== undefined) {
    const existing = await jsm.consumers.info(stream, name).catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return null;
      throw err;
    });
    if (existing !== null) {
      if ((existing.config.filter_subject ?? "") !== config.filter_subject)
        throw new Error(
          `durable consumer ${name} filters "${existing.config.filter_subject ?? ""}", not "${config.filter_subject}": delete it or use another name`,
        );
      await jsm.consumers.update(stream, name, { max_ack_pending: config.max_ack_pending, max_deliver: config.max_deliver, ack_wait: config.ack_wait });
      return name;
    }
  }
  const info = await jsm.consumers.add(stream, config);
  return info.name;
}
