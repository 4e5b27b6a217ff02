import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/nats-core";
import { PRIORITIES } from "../../schemas/enums.ts";
import type { Topology } from "../../schemas/subjects.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface StreamOptions {
  /** JetStream de-duplicates `Nats-Msg-Id` within this window (idempotency layer 2). */
  duplicateWindowMs: number;
  /** How long a crashed instance's unacked messages wait before redelivery. */
  ackWaitMs: number;
  /** Bounds in-flight work per lane across all instances. */
  maxAckPending: number;
  /** Copies of every stream (and its consumers) in a NATS cluster; 1 on a single server. Default 1. */
  replicas?: number;
  /** How long the dead-letter stream keeps a dead letter. Default 14 days. */
  dlqMaxAgeDays?: number;
  /** How long the events stream keeps an event: how far back subscribers, replay and the drift check can read. Default 7 days. */
  eventsMaxAgeDays?: number;
}

/**
 * Creates or updates the work, events and DLQ streams and the four lane
 * consumers. Idempotent: safe to run again and from several places at once.
 */
export async function ensureStreams(nc: NatsConnection, topo: Topology, opts: StreamOptions): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const replicas = opts.replicas ?? 1;
  // Work queue: a message leaves the stream once acked or termed; Postgres is
  // the record and the DLQ keeps failures, so nothing else needs it.
  await upsertStream(jsm, {
    name: topo.streams.work,
    subjects: [topo.wildcards.work],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(opts.duplicateWindowMs),
    num_replicas: replicas,
  });
  const events = keptStream(topo.streams.events, topo.wildcards.events, opts.eventsMaxAgeDays ?? 7);
  await upsertStream(jsm, { ...events, subjects: [topo.wildcards.events, topo.wildcards.ops], num_replicas: replicas });
  // A feed for subscribers and alerts: replay and the admin list read the `failed` rows, so an aged-out dead letter loses nothing.
  await upsertStream(jsm, { ...keptStream(topo.streams.dlq, topo.wildcards.dlq, opts.dlqMaxAgeDays ?? 14), num_replicas: replicas });
  // One durable shared by every processor; lifecycle events only (a 2.9 server takes one filter subject), from its creation on.
  await upsertConsumer(jsm, topo.streams.events, {
    durable_name: topo.statusWebhooksConsumer,
    filter_subject: topo.wildcards.events,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    ack_wait: nanos(opts.ackWaitMs),
    max_ack_pending: opts.maxAckPending,
    max_deliver: -1,
  });
  for (const priority of PRIORITIES) {
    await upsertConsumer(jsm, topo.streams.work, {
      durable_name: topo.laneConsumer(priority),
      filter_subject: topo.laneFilter(priority),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(opts.ackWaitMs),
      max_ack_pending: opts.maxAckPending,
      // Attempts are counted in Postgres; JetStream must never give up on its own.
      max_deliver: -1,
    });
  }
}

type NamedStreamConfig = Partial<StreamConfig> & { name: string };

async function upsertStream(jsm: JetStreamManager, cfg: NamedStreamConfig): Promise<void> {
  if (!(await exists(() => jsm.streams.info(cfg.name)))) {
    await jsm.streams.add(cfg);
    return;
  }
  // Retention and storage cannot change on a live stream; everything else may.
  const { name, retention: _retention, storage: _storage, ...mutable } = cfg;
  await jsm.streams.update(name, mutable);
}

async function upsertConsumer(jsm: JetStreamManager, stream: string, cfg: Partial<ConsumerConfig> & { durable_name: string }): Promise<void> {
  if (!(await exists(() => jsm.consumers.info(stream, cfg.durable_name)))) {
    await jsm.consumers.add(stream, cfg);
    return;
  }
  const { durable_name, deliver_policy: _deliverPolicy, ...mutable } = cfg;
  await jsm.consumers.update(stream, durable_name, mutable);
}

async function exists(info: () => Promise<unknown>): Promise<boolean> {
  try {
    await info();
    return true;
  } catch (err) {
    const notFound = err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamNotFound || err.code === JetStreamApiCodes.ConsumerNotFound);
    if (notFound) return false;
    throw err;
  }
}

/** Events and dead letters are kept for reading, not consumed away: limits retention, aged out after `days`. */
function keptStream(name: string, subject: string, days: number) {
  return {
    name,
    subjects: [subject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(days * DAY_MS),
    duplicate_window: nanos(2 * 60 * 1000),
  };
}

/**
 * The streams and lane consumers of the namespace that do not exist: a
 * process that only serves checks this instead of creating them, so the
 * topology changes only when an operator runs `herald migrate`.
 */
export async function missingTopology(nc: NatsConnection, topo: Topology): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const missing: string[] = [];
  for (const name of Object.values(topo.streams)) if (!(await exists(() => jsm.streams.info(name)))) missing.push(`stream ${name}`);
  if (missing.includes(`stream ${topo.streams.work}`)) return missing;
  for (const p of PRIORITIES) {
    const name = topo.laneConsumer(p);
    if (!(await exists(() => jsm.consumers.info(topo.streams.work, name)))) missing.push(`consumer ${name}`);
  }
  const fanOut = topo.statusWebhooksConsumer;
  if (!missing.includes(`stream ${topo.streams.events}`) && !(await exists(() => jsm.consumers.info(topo.streams.events, fanOut))))
    missing.push(`consumer ${fanOut}`);
  return missing;
}
