// End-to-end throughput beside a large parked schedule: two stacks of their
// own (namespace, database, Redis prefix, gateway and processor each), one
// with nothing scheduled and one with `parked` notifications due an hour
// ahead, measured by the end-to-end phase's feeder in alternating rounds
// (none, parked, none, …). Parked ones never leave their stack, so "none"
// needs a stack of its own; alternating spreads the box's drift over both.
import { postBatches } from "../lib/batches.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import postgres from "postgres";
import { createStack, type Stack } from "../../test/support/stack.ts";
import { startHerald } from "../../test/support/herald-process.ts";
import type { WebhookReceiver } from "../../test/support/webhook-receiver.ts";
import type { Cleanup } from "../lib/cleanup.ts";
import { stopHerald } from "../lib/herald.ts";
import type { E2eRun, ParkedRun } from "../types.ts";
import { e2ePhase } from "./e2e.ts";

export interface ParkedDeps {
  apiKey: string;
  nc: NatsConnection;
  receiver: WebhookReceiver;
  cleanup: Cleanup;
}

export interface ParkedOptions {
  parked: number;
  /** Rounds per side. */
  rounds: number;
  rampS: number;
  seconds: number;
  batchSize: number;
}

const POSTERS = 4;

interface Side {
  stack: Stack;
  /** Removes the stack's streams, Redis keys and database; safe to call again. */
  remove: () => Promise<void>;
  gateway: Awaited<ReturnType<typeof startHerald>>;
  processor: Awaited<ReturnType<typeof startHerald>>;
}

async function startSide(name: string, cleanup: Cleanup): Promise<Side> {
  // The webhook receiver is on loopback, so the processor must be allowed to reach it.
  const stack = await createStack({ HERALD_WEBHOOK_ALLOW_PRIVATE: "1", LOG_LEVEL: "info" });
  let removed: Promise<void> | null = null;
  const remove = () => (removed ??= stack.cleanup());
  cleanup.defer(`parked phase (${name}): streams, Redis keys and database`, remove);
  const gateway = await startHerald("gateway", { ...stack.env, LOG_LEVEL: "warn" }, { keepLogs: false });
  cleanup.defer(`parked phase (${name}): gateway`, () => stopHerald(gateway));
  const processor = await startHerald("processor", stack.env, { keepLogs: false });
  cleanup.defer(`parked phase (${name}): processor`, () => stopHerald(processor));
  return { stack, remove, gateway, processor };
}

/** Parks `total` in-app notifications due an hour ahead through the batch endpoint; returns the schedules table's rows once they are all there. */
async function park(side: Side, apiKey: string, total: number): Promise<number> {
  const dueAt = new Date(Date.now() + 3_600_000).toISOString();
  const parked = Array.from({ length: total }, (_, i) => ({
    userId: "bench-parked",
    channel: "in_app",
    scheduledFor: dueAt,
    payload: { title: "Later", body: `${i}` },
  }));
  await postBatches(side.gateway.url, apiKey, parked, { phase: "parked", posters: POSTERS });
  // The 202 means the work stream holds them; the processor parks them in Postgres after, so wait for the rows.
  const pg = postgres(side.stack.db.url, { max: 1, onnotice: () => {} });
  try {
    const deadline = Date.now() + 120_000;
    let stored = 0;
    while (Date.now() < deadline) {
      stored = Number((await pg<Array<{ n: string }>>`select count(*) as n from schedules`)[0]?.n ?? 0);
      if (stored >= total) break;
      await Bun.sleep(250);
    }
    return stored;
  } finally {
    await pg.end({ timeout: 5 });
  }
}

const mean = (runs: E2eRun[]) => (runs.length === 0 ? 0 : runs.reduce((a, r) => a + r.sentPerS, 0) / runs.length);

export async function parkedPhase(deps: ParkedDeps, opts: ParkedOptions, log: (line: string) => void): Promise<ParkedRun> {
  const none = await startSide("none", deps.cleanup);
  const parked = await startSide("parked", deps.cleanup);
  try {
    const t0 = performance.now();
    const parkedStored = await park(parked, deps.apiKey, opts.parked);
    log(`parked: ${opts.parked} parked an hour ahead in ${((performance.now() - t0) / 1000).toFixed(1)} s (schedules table: ${parkedStored} rows)`);
    const runs = { none: [] as E2eRun[], withParked: [] as E2eRun[] };
    const round = (side: Side) =>
      e2ePhase(
        {
          gatewayUrl: side.gateway.url,
          apiKey: deps.apiKey,
          nc: deps.nc,
          namespace: side.stack.namespace,
          databaseUrl: side.stack.db.url,
          receiver: deps.receiver,
          gatewayPid: side.gateway.proc.pid,
          processorPid: side.processor.proc.pid,
        },
        { rampS: opts.rampS, seconds: opts.seconds, batchSize: opts.batchSize, drainTimeoutS: 60 },
        log,
      );
    for (let i = 0; i < opts.rounds; i++) {
      const a = await round(none);
      runs.none.push(a);
      log(`parked: round ${i + 1} none ${Math.round(a.sentPerS)} sent/s`);
      const b = await round(parked);
      runs.withParked.push(b);
      log(`parked: round ${i + 1} with ${opts.parked} parked ${Math.round(b.sentPerS)} sent/s`);
    }
    const noneSentPerS = mean(runs.none);
    const parkedSentPerS = mean(runs.withParked);
    return { parked: opts.parked, parkedStored, ...runs, noneSentPerS, parkedSentPerS, ratio: noneSentPerS > 0 ? parkedSentPerS / noneSentPerS : 0 };
  } finally {
    // Stopped here, not only at the end of the run: idle, they would still share the box with the phases after.
    await Promise.all([none, parked].flatMap((s) => [stopHerald(s.gateway), stopHerald(s.processor)]));
    await Promise.all([none, parked].map((s) => s.remove().catch(() => {})));
  }
}
