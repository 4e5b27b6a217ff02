// Scheduled notifications at scale: `scheduled` signed webhooks due `aheadS`
// from now, then `dueNow` more due at once. The due-now ones must go straight
// through (the scheduled ones hold no lane capacity), and each scheduled one
// must be sent once, close to its time. Times come from Postgres (`sent_at`
// against `scheduled_for`), once-ness from the verifying webhook receiver.
import { jetstreamManager } from "@nats-io/jetstream";
import postgres from "postgres";
import { topology } from "../../schemas/subjects.ts";
import { postBatches } from "../lib/batches.ts";
import { waitForQuiet } from "../lib/machine.ts";
import { percentile } from "../lib/stats.ts";
import type { SchedulerRun } from "../types.ts";
import type { E2eDeps } from "./e2e.ts";

/** What the end-to-end phase is given, but the process ids: the phase reads times from Postgres, not CPU. */
export type SchedulerDeps = Omit<E2eDeps, "gatewayPid" | "processorPid">;

export interface SchedulerOptions {
  scheduled: number;
  dueNow: number;
  aheadS: number;
}

const postAll = (deps: SchedulerDeps, items: unknown[]) => postBatches(deps.gatewayUrl, deps.apiKey, items, { phase: "scheduler" });

export async function schedulerPhase(deps: SchedulerDeps, opts: SchedulerOptions, log: (line: string) => void): Promise<SchedulerRun> {
  const pg = postgres(deps.databaseUrl, { max: 1, onnotice: () => {} });
  const jsm = await jetstreamManager(deps.nc);
  const topo = topology(deps.namespace);
  const laneAckPending = async () => (await jsm.consumers.info(topo.streams.work, topo.laneConsumer("normal"))).num_ack_pending;
  const sentCount = async (ids: string[]) =>
    Number((await pg<Array<{ n: string }>>`select count(*) as n from notifications where id = any(${ids}::uuid[]) and status = 'sent'`)[0]?.n ?? 0);
  try {
    const quiet = await waitForQuiet();
    const dueAt = new Date(Date.now() + opts.aheadS * 1000);
    const hook = (body: unknown, scheduledFor?: string) => ({
      userId: "bench-scheduler",
      channel: "webhook",
      payload: { url: deps.receiver.url(), body },
      ...(scheduledFor ? { scheduledFor } : {}),
    });
    const scheduled = await postAll(
      deps,
      Array.from({ length: opts.scheduled }, (_, i) => hook({ i }, dueAt.toISOString())),
    );
    log(`scheduler: ${opts.scheduled} accepted for ${dueAt.toISOString()}`);

    const nowStarted = performance.now();
    const dueNow = await postAll(
      deps,
      Array.from({ length: opts.dueNow }, (_, i) => hook({ now: i })),
    );
    while ((await sentCount(dueNow)) < dueNow.length && performance.now() - nowStarted < 60_000) await Bun.sleep(50);
    const dueNowSentS = (performance.now() - nowStarted) / 1000;
    log(`scheduler: ${opts.dueNow} due now sent in ${dueNowSentS.toFixed(2)} s; waiting for ${dueAt.toISOString()}`);

    // What the lane holds once the scheduled ones are stored and the due-now ones sent: the waiting itself.
    let maxAckPendingWhileWaiting = 0;
    while (Date.now() < dueAt.getTime()) {
      maxAckPendingWhileWaiting = Math.max(maxAckPendingWhileWaiting, await laneAckPending());
      await Bun.sleep(Math.min(1000, Math.max(10, dueAt.getTime() - Date.now() - 50)));
    }
    const deadline = Date.now() + 60_000;
    while ((await sentCount(scheduled)) < scheduled.length && Date.now() < deadline) await Bun.sleep(100);
    await Bun.sleep(1000);

    const rows = await pg<Array<{ late_ms: number | null }>>`
      select extract(epoch from (sent_at - scheduled_for)) * 1000 as late_ms from notifications where id = any(${scheduled}::uuid[])`;
    const late = rows.map((r) => (r.late_ms === null ? Number.POSITIVE_INFINITY : Number(r.late_ms))).sort((a, b) => a - b);
    const successes = deps.receiver.successes();
    const counts = [...scheduled, ...dueNow].map((id) => successes.get(id) ?? 0);
    return {
      scheduled: opts.scheduled,
      dueNow: opts.dueNow,
      aheadS: opts.aheadS,
      dueNowSentS,
      maxAckPendingWhileWaiting,
      lateMs: { min: late[0] ?? 0, p50: percentile(late, 50), p99: percentile(late, 99), max: late.at(-1) ?? 0 },
      sentOnce: counts.filter((c) => c === 1).length,
      missing: counts.filter((c) => c === 0).length,
      duplicated: counts.filter((c) => c > 1).length,
      quiet,
    };
  } finally {
    await pg.end();
  }
}
