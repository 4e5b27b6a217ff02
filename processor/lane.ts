import type { Consumer, ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import { handleBatch } from "./batch.ts";
import type { LaneContext } from "./context.ts";
import { createSettlement } from "./settlement.ts";
import { traceIdFromTraceparent } from "../lib/telemetry/correlation.ts";
import type { ErrorContext } from "../lib/telemetry/error-reporter.ts";

/** The shortest pull expiry nats.js allows: bounds how long stop() waits for an idle lane. */
export const FETCH_EXPIRES_MS = 1000;
/** When a batch cannot finish (the processor stops, a bug), its messages come back after this long. */
export const BATCH_RETRY_MS = 2000;

export interface LaneOptions {
  batchSize: number;
  ackWaitMs: number;
  /** Cap on messages this lane holds unsettled in this process: it pulls only what fits under it. */
  maxInFlight: number;
  stopping: () => boolean;
}

/**
 * One lane's loop: pull up to `batchSize`, hand what has arrived to a batch as
 * soon as the client queue runs dry (a lone urgent message is not held for the
 * pull to fill), and keep pulling while batches work — one slow send must not
 * hold back the messages behind it. A pull asks only for what fits under
 * `maxInFlight`, so every message pulled goes straight to a batch, whose
 * keep-alive holds its AckWait: a message left waiting for room would have
 * none, and JetStream would deliver it again, maybe to another processor,
 * while this one still means to send it. Resolves after stop, once every
 * batch is settled. Never throws.
 */
export async function runLane(ctx: LaneContext, consumer: Consumer, opts: LaneOptions): Promise<void> {
  const working = new Set<Promise<void>>();
  let unsettled = 0;
  const dispatch = (batch: JsMsg[]): void => {
    unsettled += batch.length;
    const job: Promise<void> = work(ctx, batch, opts.ackWaitMs).finally(() => {
      working.delete(job);
      unsettled -= batch.length;
    });
    working.add(job);
  };
  while (!opts.stopping()) {
    while (unsettled >= opts.maxInFlight && working.size > 0) await Promise.race(working);
    if (opts.stopping()) break;
    const room = Math.max(1, Math.min(opts.batchSize, opts.maxInFlight - unsettled));
    let messages: ConsumerMessages;
    try {
      messages = await consumer.fetch({ max_messages: room, expires: FETCH_EXPIRES_MS });
    } catch (err) {
      ctx.log.error({ err, lane: ctx.priority }, "could not pull; retrying in 1 s");
      await Bun.sleep(1000);
      continue;
    }
    let batch: JsMsg[] = [];
    try {
      for await (const m of messages) {
        batch.push(m);
        if (messages.getPending() === 0 || batch.length >= opts.batchSize) {
          dispatch(batch);
          batch = [];
        }
      }
    } catch (err) {
      ctx.log.warn({ err, lane: ctx.priority }, "pull ended with an error");
      await Bun.sleep(250);
    }
    if (batch.length > 0) dispatch(batch);
  }
  await Promise.all(working);
}

/** Works one batch; never rejects: on failure (the processor stopping, a bug) the unsettled rest goes back to the stream. */
async function work(ctx: LaneContext, batch: JsMsg[], ackWaitMs: number): Promise<void> {
  const settlement = createSettlement(batch);
  // Slow providers, a long queue for a channel slot or a Postgres outage must
  // not let AckWait expire: that would redeliver to another instance and send twice.
  settlement.keepAlive(Math.max(250, Math.floor(ackWaitMs / 3)));
  try {
    await handleBatch(ctx, batch, settlement);
  } catch (err) {
    const returned = settlement.returnRest(BATCH_RETRY_MS);
    ctx.log.error({ err, lane: ctx.priority, size: batch.length, returned }, "batch failed; returning it to the stream");
    ctx.errors.report(err, batchErrorContext(ctx, batch));
  } finally {
    settlement.close();
  }
}

/** A failed batch's report joins the trace and the request of its first message that has them; ids only, no payload. */
function batchErrorContext(ctx: LaneContext, batch: JsMsg[]): ErrorContext {
  let traceId: string | undefined;
  for (const m of batch) {
    traceId = traceIdFromTraceparent(m.headers?.get("traceparent"));
    if (traceId !== undefined) break;
  }
  return { traceId, requestId: correlationOf(batch[0]), tags: { service: "processor", lane: ctx.priority, size: batch.length } };
}

/** The envelope's correlation id (the gateway's request id), when the message is an envelope at all. */
function correlationOf(m: JsMsg | undefined): string | undefined {
  try {
    const id = (m?.json() as { correlationId?: unknown } | undefined)?.correlationId;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}
