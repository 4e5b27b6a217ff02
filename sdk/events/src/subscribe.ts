import { jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { EventType } from "../../../schemas/enums.ts";
import { LifecycleEvent } from "../../../schemas/events.ts";
import { topology } from "../../../schemas/subjects.ts";
import { consumerPlan, ensureConsumer, type StartAt } from "./consumer-config.ts";
import { dedupeWindow } from "./dedupe.ts";
import { keyedQueue } from "./keyed-queue.ts";
import { settler } from "./settler.ts";
import { slots } from "./slots.ts";

/** Where an event came from, for logs and for a handler that wants to know it is seeing a redelivery. */
export interface EventContext {
  subject: string;
  /** The event's sequence in the events stream. */
  seq: number;
  /** 1 on the first delivery; more after a nak, an ack timeout or a restart. */
  deliveryCount: number;
}

/** A message on the events subjects that is not a v1 lifecycle event; it is termed, never redelivered. */
export interface InvalidMessage {
  subject: string;
  seq: number;
  data: string;
  reason: string;
}

/** Where the subscriber reads: a connection the caller owns (left open by `close()`), or servers it connects to itself. */
export type EventSource = { connection: NatsConnection; servers?: never } | { servers: string | string[]; connection?: never };

export type SubscribeOptions = EventSource & {
  /** Herald's `HERALD_NAMESPACE` (default deployments use `herald`). */
  namespace: string;
  /** Only these types; all when absent. */
  types?: readonly EventType[];
  /** A durable consumer's name: it survives restarts and resumes where it stopped; several subscribers with one name share the work. Ephemeral when absent. */
  durable?: string;
  /** Where a new consumer starts (default `"new"`); an existing durable keeps its position. */
  startAt?: StartAt;
  /** Events in flight at once (handlers running or queued behind their notification's earlier event); also the consumer's `max_ack_pending`. Default 16. */
  concurrency?: number;
  /** Deliveries of one event before it is dropped (termed, `onDropped`). Default 5. */
  maxDeliver?: number;
  /** How long the server waits for an ack before redelivering; running handlers are kept alive meanwhile. Default 30 s. */
  ackWaitMs?: number;
  /** Backoff of a failed handler's redelivery: full jitter up to `baseMs · 2^(delivery-1)`, at most `maxMs`. Default 1 s and 60 s. */
  retry?: { baseMs?: number; maxMs?: number };
  /** Event ids remembered to drop copies of handled events. Default 10,000; 0 remembers none. */
  dedupeWindow?: number;
  /** Asked before the handler when the window does not know the event: true skips (and acks) it. For dedupe against the service's own store. */
  isDuplicate?: (event: LifecycleEvent) => boolean | Promise<boolean>;
  /** Called once per event; resolve to ack it, throw to have it redelivered with backoff. */
  handler: (event: LifecycleEvent, context: EventContext) => unknown | Promise<unknown>;
  /** A message that does not parse as an event. */
  onInvalid?: (message: InvalidMessage) => void;
  /** An event whose handler failed on its last delivery; it will not come again. */
  onDropped?: (event: LifecycleEvent, error: unknown, context: EventContext) => void;
};

export interface SubscriptionStats {
  handled: number;
  duplicates: number;
  /** Events of types not asked for, acked unseen (several types on a server without `filter_subjects`). */
  filtered: number;
  invalid: number;
  /** Failed handler runs naked for redelivery. */
  retried: number;
  dropped: number;
  inFlight: number;
  /** The most events ever in flight at once. */
  maxInFlight: number;
}

export interface Subscription {
  /** The consumer's name: the durable's, or the server-chosen name of an ephemeral one. */
  readonly consumer: string;
  stats(): SubscriptionStats;
  /** Stops pulling, lets in-flight handlers finish and acks them, hands unstarted events back, deletes an ephemeral consumer. */
  close(): Promise<void>;
  /** Settles when the subscription has ended: resolves after `close()`, rejects when consuming failed. */
  readonly closed: Promise<void>;
}

const MAX_DELAY_MS = 60_000;

/** Full-jitter exponential backoff for the `delivery`-th failure. */
export function retryDelayMs(delivery: number, baseMs = 1000, maxMs = MAX_DELAY_MS): number {
  return Math.round(Math.random() * Math.min(maxMs, baseMs * 2 ** Math.max(0, delivery - 1)));
}

function parse(m: JsMsg): { event: LifecycleEvent } | { reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(m.string());
  } catch {
    return { reason: "not JSON" };
  }
  const r = LifecycleEvent.safeParse(json);
  if (r.success) return { event: r.data };
  return { reason: r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ") };
}

/** Hooks report; they must not stop the subscriber. */
function quietly(run: () => void): void {
  try {
    run();
  } catch {
    // a throwing hook is the caller's bug, not a reason to wedge the consumer
  }
}

/**
 * Subscribes to Herald's lifecycle events: parsed and typed, at least once
 * (acked after the handler resolves), copies dropped by event id, events of
 * one notification handled one at a time in stream order, at most
 * `concurrency` in flight.
 */
export async function subscribe(opts: SubscribeOptions): Promise<Subscription> {
  const concurrency = opts.concurrency ?? 16;
  const maxDeliver = opts.maxDeliver ?? 5;
  const ackWaitMs = opts.ackWaitMs ?? 30_000;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError("concurrency must be a positive integer");
  if (!Number.isInteger(maxDeliver) || maxDeliver < 1) throw new RangeError("maxDeliver must be a positive integer");
  const topo = topology(opts.namespace);
  const plan = consumerPlan({
    topo,
    types: opts.types,
    durable: opts.durable,
    startAt: opts.startAt ?? "new",
    concurrency,
    maxDeliver,
    ackWaitMs,
    inactiveMs: 60_000,
  });
  const nc = opts.connection ?? (await connect({ servers: opts.servers }));
  const ownConnection = opts.connection === undefined;
  const bind = async () => {
    const jsm = await jetstreamManager(nc);
    const name = await ensureConsumer(jsm, topo.streams.events, plan.config);
    const consumer = await jetstream(nc).consumers.get(topo.streams.events, name);
    return { jsm, name, messages: await consumer.consume({ max_messages: concurrency }) };
  };
  // A connection opened here is closed again when the consumer cannot be had (no stream, a durable filtering elsewhere).
  const { jsm, name, messages } = await bind().catch(async (err: unknown) => {
    if (ownConnection) await nc.close();
    throw err;
  });

  const stats: SubscriptionStats = { handled: 0, duplicates: 0, filtered: 0, invalid: 0, retried: 0, dropped: 0, inFlight: 0, maxInFlight: 0 };
  const window = dedupeWindow(opts.dedupeWindow ?? 10_000);
  const queue = keyedQueue();
  const bound = slots(concurrency);
  const held = new Set<JsMsg>();
  const gathered = settler();
  // One at a time, nothing would share the write, and waiting a turn only delays the next event.
  const out = { later: concurrency === 1 ? (op: () => void) => op() : gathered.later };
  let closing = false;
  // Queued and running events alike are kept from the ack timeout while they wait their turn.
  const keepAlive = setInterval(
    () => {
      for (const m of held) m.working();
    },
    Math.max(100, Math.floor(ackWaitMs / 3)),
  );
  const prefix = `${topo.wildcards.events.slice(0, -1)}`;

  const settle = (m: JsMsg) => {
    held.delete(m);
    stats.inFlight -= 1;
    bound.release();
  };

  async function handle(m: JsMsg, event: LifecycleEvent): Promise<void> {
    const context: EventContext = { subject: m.subject, seq: m.seq, deliveryCount: m.info.deliveryCount };
    try {
      if (window.has(event.eventId) || (opts.isDuplicate !== undefined && (await opts.isDuplicate(event)))) {
        stats.duplicates += 1;
        out.later(() => m.ack());
        return;
      }
      await opts.handler(event, context);
      window.add(event.eventId);
      stats.handled += 1;
      out.later(() => m.ack());
    } catch (err) {
      if (context.deliveryCount >= maxDeliver) {
        stats.dropped += 1;
        out.later(() => m.term());
        quietly(() => opts.onDropped?.(event, err, context));
      } else {
        stats.retried += 1;
        const delay = retryDelayMs(context.deliveryCount, opts.retry?.baseMs, opts.retry?.maxMs);
        out.later(() => m.nak(delay));
      }
    } finally {
      settle(m);
    }
  }

  function dispatch(m: JsMsg): void {
    if (plan.clientFilter !== null && !plan.clientFilter.has(m.subject.slice(prefix.length) as EventType)) {
      stats.filtered += 1;
      out.later(() => m.ack());
      settle(m);
      return;
    }
    const parsed = parse(m);
    if ("reason" in parsed) {
      stats.invalid += 1;
      // No reason given: nats-server 2.9 does not take one and would leave the message pending.
      out.later(() => m.term());
      quietly(() => opts.onInvalid?.({ subject: m.subject, seq: m.seq, data: m.string(), reason: parsed.reason }));
      settle(m);
      return;
    }
    void queue.push(parsed.event.id, () => handle(m, parsed.event));
  }

  const loop = (async () => {
    for await (const m of messages) {
      await bound.acquire();
      held.add(m);
      stats.inFlight += 1;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      // Pulled but not started: back to the server at once, for the next subscriber on this durable.
      if (closing) {
        m.nak();
        settle(m);
        continue;
      }
      dispatch(m);
    }
  })();

  let closingDone: Promise<void> | null = null;
  const finish = async () => {
    closing = true;
    bound.open();
    await messages.close();
    try {
      await loop;
    } finally {
      await queue.idle();
      gathered.flush();
      clearInterval(keepAlive);
      if (opts.durable === undefined) await jsm.consumers.delete(topo.streams.events, name).catch(() => false);
      if (ownConnection) await nc.drain();
      else await nc.flush();
    }
  };
  const close = () => (closingDone ??= finish());
  // A loop that fails on its own (the stream deleted, the connection closed) ends the subscription too.
  const closed = loop.then(
    () => close(),
    async (err: unknown) => {
      await close().catch(() => undefined);
      throw err;
    },
  );
  closed.catch(() => undefined);

  return {
    consumer: name,
    stats: () => ({ ...stats }),
    close: async () => {
      await close().catch(() => undefined);
      await closed.catch(() => undefined);
    },
    closed,
  };
}
