import type { Consumer, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { enqueueDeliveries } from "../../lib/db/webhook-deliveries.ts";
import { enabledEndpointsOf } from "../../lib/db/webhook-endpoints.ts";
import type { Database } from "../../schemas/database.ts";
import { LifecycleEvent } from "../../schemas/events.ts";
import { deliveriesFor } from "./fan-out.ts";

/** Events pulled per batch. */
const BATCH = 256;
/** How long a fetch waits for events: also how long a stop waits for the loop. */
const FETCH_EXPIRES_MS = 1000;
/** Rows per insert statement. */
const INSERT_CHUNK = 1000;
/** Batches being inserted at once. */
const IN_FLIGHT_BATCHES = 4;
/** A batch Postgres could not take comes back after this. */
const RETRY_MS = 2000;

export interface DispatcherDeps {
  db: Database;
  /** The durable on the events stream every processor shares (a consumer group). */
  consumer: Consumer;
  log: Logger;
  /** New deliveries were queued. */
  queued(count: number): void;
  /** Told how many events each batch had, for the bench. */
  onBatch?(events: number, deliveries: number): void;
}

/**
 * The fan-out loop: each batch of lifecycle events becomes one delivery row
 * per matching enabled endpoint of its tenant (copies of an event are one row
 * by the unique index), then the batch is acked. Until `stopping()` holds.
 */
export async function runDispatcher(deps: DispatcherDeps, stopping: () => boolean): Promise<void> {
  const { log } = deps;
  const inFlight = new Set<Promise<void>>();
  while (!stopping()) {
    const batch: JsMsg[] = [];
    try {
      const messages = await deps.consumer.fetch({ max_messages: BATCH, expires: FETCH_EXPIRES_MS });
      for await (const m of messages) batch.push(m);
    } catch (err) {
      log.warn({ err }, "could not pull lifecycle events for status webhooks; trying again");
      await new Promise((resolve) => setTimeout(resolve, FETCH_EXPIRES_MS));
      continue;
    }
    if (batch.length === 0) continue;
    // The next fetch overlaps this batch's insert: Postgres, not this loop, is what bounds the rate.
    const task: Promise<void> = handle(deps, batch).finally(() => inFlight.delete(task));
    inFlight.add(task);
    if (inFlight.size >= IN_FLIGHT_BATCHES) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

async function handle(deps: DispatcherDeps, batch: JsMsg[]): Promise<void> {
  const events: LifecycleEvent[] = [];
  for (const m of batch) {
    const parsed = LifecycleEvent.safeParse(parse(m));
    if (parsed.success) events.push(parsed.data);
    else deps.log.warn({ subject: m.subject, seq: m.seq }, "a message on the events stream is not a lifecycle event; no status webhook sent for it");
  }
  try {
    const endpoints = await enabledEndpointsOf(
      deps.db,
      events.map((e) => e.tenantId),
    );
    const rows = deliveriesFor(events, endpoints);
    let queued = 0;
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) queued += await enqueueDeliveries(deps.db, rows.slice(i, i + INSERT_CHUNK));
    for (const m of batch) m.ack();
    deps.onBatch?.(events.length, rows.length);
    if (queued > 0) deps.queued(queued);
  } catch (err) {
    deps.log.error({ err, events: batch.length }, "could not queue status webhook deliveries; the events come back");
    for (const m of batch) m.nak(RETRY_MS);
  }
}

function parse(m: JsMsg): unknown {
  try {
    return JSON.parse(m.string());
  } catch {
    return null;
  }
}
