// Priority isolation at scale: a `low` backlog of signed webhooks to a
// receiver that answers each after `holdMs`, so the low lane is still busy
// (tens of thousands pending in JetStream) when `urgent` webhooks to the same
// receiver and channel are posted one at a time. Each urgent one's time is
// Postgres `sent_at` minus the moment its 202 arrived; the backlog is the low
// lane consumer's num_pending + num_ack_pending just before the first urgent.
import { jetstreamManager } from "@nats-io/jetstream";
import postgres from "postgres";
import { topology } from "../../schemas/subjects.ts";
import { postBatches } from "../lib/batches.ts";
import { waitForQuiet } from "../lib/machine.ts";
import { percentile } from "../lib/stats.ts";
import type { IsolationRun } from "../types.ts";
import type { SchedulerDeps } from "./scheduler.ts";

export interface IsolationOptions {
  low: number;
  urgent: number;
  urgentEveryMs: number;
  /** The receiver's path whose answers are held, so each low send occupies a channel slot. */
  slowPath: string;
  holdMs: number;
}

/** Concurrent batch posters: the backlog must be queued faster than the held sends drain it. */
const POSTERS = 4;

async function postLow(deps: SchedulerDeps, url: string, total: number): Promise<void> {
  const low = Array.from({ length: total }, (_, i) => ({ userId: "bench-low", channel: "webhook", priority: "low", payload: { url, body: { i } } }));
  await postBatches(deps.gatewayUrl, deps.apiKey, low, { phase: "isolation", posters: POSTERS });
}

/** POSTs one urgent webhook; resolves with its id and the wall-clock ms its 202 arrived. */
async function postUrgent(deps: SchedulerDeps, url: string, i: number): Promise<{ id: string; acceptedAt: number }> {
  const res = await fetch(`${deps.gatewayUrl}/v1/notifications`, {
    method: "POST",
    headers: { authorization: `Bearer ${deps.apiKey}`, "content-type": "application/json", "idempotency-key": crypto.randomUUID() },
    body: JSON.stringify({ userId: "bench-urgent", channel: "webhook", priority: "urgent", payload: { url, body: { urgent: i } } }),
  });
  const acceptedAt = Date.now();
  if (res.status !== 202) throw new Error(`isolation phase: urgent answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  return { id: ((await res.json()) as { id: string }).id, acceptedAt };
}

export async function isolationPhase(deps: SchedulerDeps, opts: IsolationOptions, log: (line: string) => void): Promise<IsolationRun> {
  const pg = postgres(deps.databaseUrl, { max: 1, onnotice: () => {} });
  const jsm = await jetstreamManager(deps.nc);
  const topo = topology(deps.namespace);
  const lowBacklog = async () => {
    const info = await jsm.consumers.info(topo.streams.work, topo.laneConsumer("low"));
    return info.num_pending + info.num_ack_pending;
  };
  try {
    const quiet = await waitForQuiet();
    const t0 = performance.now();
    await postLow(deps, deps.receiver.url(opts.slowPath), opts.low);
    const lowPostedS = (performance.now() - t0) / 1000;
    const backlogAtFirst = await lowBacklog();
    log(`isolation: ${opts.low} low queued in ${lowPostedS.toFixed(1)} s; low lane backlog ${backlogAtFirst}; posting ${opts.urgent} urgent`);

    const urgent: Array<{ id: string; acceptedAt: number }> = [];
    for (let i = 0; i < opts.urgent; i++) {
      const started = Date.now();
      urgent.push(await postUrgent(deps, deps.receiver.url("/urgent"), i));
      await Bun.sleep(Math.max(0, opts.urgentEveryMs - (Date.now() - started)));
    }
    const backlogAtLast = await lowBacklog();
    const ids = urgent.map((u) => u.id);
    const deadline = Date.now() + 30_000;
    const sentAt = new Map<string, number>();
    while (sentAt.size < ids.length && Date.now() < deadline) {
      const rows = await pg<Array<{ id: string; ms: number }>>`
        select id, extract(epoch from sent_at) * 1000 as ms from notifications where id = any(${ids}::uuid[]) and status = 'sent'`;
      for (const r of rows) sentAt.set(r.id, Number(r.ms));
      if (sentAt.size < ids.length) await Bun.sleep(100);
    }
    const times = urgent.map((u) => {
      const at = sentAt.get(u.id);
      return at === undefined ? Number.POSITIVE_INFINITY : at - u.acceptedAt;
    });
    const sorted = [...times].sort((a, b) => a - b);
    const lowSent = Number(
      (await pg<Array<{ n: string }>>`select count(*) as n from notifications where user_id = 'bench-low' and status = 'sent'`)[0]?.n ?? 0,
    );
    log(`isolation: urgent p50 ${percentile(sorted, 50).toFixed(0)} ms, max ${sorted.at(-1)?.toFixed(0)} ms; low lane backlog ${backlogAtLast} after the last`);
    return {
      low: opts.low,
      holdMs: opts.holdMs,
      lowPostedS,
      backlogAtFirst,
      backlogAtLast,
      lowSentByEnd: lowSent,
      urgent: opts.urgent,
      urgentEveryMs: opts.urgentEveryMs,
      urgentSent: sentAt.size,
      urgentMs: { p50: percentile(sorted, 50), max: sorted.at(-1) ?? 0, each: times },
      quiet,
    };
  } finally {
    await pg.end({ timeout: 5 });
    // The low backlog would otherwise keep the processor and the next phase busy for minutes.
    await jsm.streams.purge(topo.streams.work).catch(() => {});
  }
}
