// End to end: notifications accepted by the gateway → sent by the processor
// (in-app through the inbox provider, which calls nobody, plus one in `webhookEvery` as a signed webhook to a
// receiver on loopback), both Herald processes running separately as in
// production, fed by the closed-loop feeder of e2e-feeder.ts. Sent/s comes
// from Postgres (the system of record) by `sent_at`, over whole seconds after
// the ramp; then feeding stops and the phase proves the backlog drains: every
// lane's num_pending and num_ack_pending reach 0 and Postgres holds every
// accepted notification as `sent`.
import type { NatsConnection } from "@nats-io/transport-node";
import postgres from "postgres";
import { topology } from "../../schemas/subjects.ts";
import type { WebhookReceiver } from "../../test/support/webhook-receiver.ts";
import { waitForQuiet } from "../lib/machine.ts";
import { sampleTree } from "../lib/rss-monitor.ts";
import { laneBacklog, streamMessages } from "../lib/stream.ts";
import { feed } from "./e2e-feeder.ts";
import type { E2eRun } from "../types.ts";

export interface E2eDeps {
  gatewayUrl: string;
  apiKey: string;
  nc: NatsConnection;
  namespace: string;
  databaseUrl: string;
  receiver: WebhookReceiver;
  gatewayPid: number;
  processorPid: number;
}

export interface E2eOptions {
  rampS: number;
  seconds: number;
  batchSize: number;
  /** Concurrent batch posters. */
  workers?: number;
  backlogCap?: number;
  /** Every n-th item is a webhook; the rest are in_app through the inbox provider (no outside call, as the sink made none). */
  webhookEvery?: number;
  drainTimeoutS?: number;
  /** Called the moment feeding stops, before the drain (the soak reads its "end" RSS there). */
  onFeedEnd?: () => Promise<void>;
  /** Called the moment feeding starts (the retention phase starts its pass from there). */
  onFeedStart?: () => void;
  /** Aborted: feeding stops before its seconds are up, and the window ends there. */
  signal?: AbortSignal;
}

/** Median of a non-empty list. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

export async function e2ePhase(deps: E2eDeps, opts: E2eOptions, log: (line: string) => void): Promise<E2eRun> {
  const topo = topology(deps.namespace);
  const pg = postgres(deps.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const quiet = await waitForQuiet();
    const [gw0, pr0] = await Promise.all([sampleTree(deps.gatewayPid), sampleTree(deps.processorPid)]);
    const cpu0 = process.cpuUsage();
    opts.onFeedStart?.();
    const fed = await feed(
      {
        gatewayUrl: deps.gatewayUrl,
        apiKey: deps.apiKey,
        nc: deps.nc,
        workStream: topo.streams.work,
        webhookUrl: deps.receiver.url(),
        batchSize: opts.batchSize,
        // One second more than asked, so the whole-second window below still spans `seconds`.
        seconds: opts.rampS + opts.seconds + 1,
        workers: opts.workers ?? 4,
        backlogCap: opts.backlogCap ?? 30_000,
        webhookEvery: opts.webhookEvery ?? 20,
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      log,
    );
    const cpu = process.cpuUsage(cpu0);
    const [gw1, pr1] = await Promise.all([sampleTree(deps.gatewayPid), sampleTree(deps.processorPid)]);
    await opts.onFeedEnd?.();
    const { accepted, startedAt: t0, endedAt: t1 } = fed;
    // This round's rows only: a stack may hold earlier rounds', or millions stored (the retention phase), which the month partitions prune.
    const since = new Date(t0 - 1000);
    const feedS = (t1 - t0) / 1000;
    log(`e2e: fed ${accepted} (${fed.webhooks} webhooks) in ${feedS.toFixed(1)} s, ${fed.failedBatches} failed batches; draining…`);

    // Drain: every lane empty and every accepted notification sent in Postgres.
    const drainStart = Date.now();
    const deadline = drainStart + (opts.drainTimeoutS ?? 120) * 1000;
    let drained = false;
    let lanes = { pending: -1, ackPending: -1 };
    while (Date.now() < deadline) {
      lanes = await laneBacklog(deps.nc, deps.namespace);
      if (lanes.pending === 0 && lanes.ackPending === 0) {
        const [row] = await pg<{ sent: number }[]>`select count(*)::int as sent from notifications where status = 'sent' and created_at >= ${since}`;
        if ((row?.sent ?? 0) >= accepted) {
          drained = true;
          break;
        }
      }
      await Bun.sleep(250);
    }
    const drainS = (Date.now() - drainStart) / 1000;

    // Whole seconds after the ramp, so no partial second skews the per-second figures.
    const ws = Math.ceil((t0 + opts.rampS * 1000) / 1000);
    const we = Math.min(Math.floor(t1 / 1000), ws + opts.seconds);
    const buckets = await pg<{ s: number; n: number }[]>`
      select extract(epoch from date_trunc('second', sent_at))::int as s, count(*)::int as n
      from notifications where sent_at >= to_timestamp(${ws}) and sent_at < to_timestamp(${we}) and created_at >= ${since}
      group by 1 order by 1`;
    const perSecond = Array.from({ length: Math.max(0, we - ws) }, (_, i) => buckets.find((b) => b.s === ws + i)?.n ?? 0);
    const sentInWindow = perSecond.reduce((a, b) => a + b, 0);
    const statusRows = await pg<
      { status: string; n: number }[]
    >`select status, count(*)::int as n from notifications where created_at >= ${since} group by status`;
    const byStatus = Object.fromEntries(statusRows.map((r) => [r.status, r.n]));

    return {
      accepted,
      webhooks: fed.webhooks,
      failedBatches: fed.failedBatches,
      windowS: perSecond.length,
      sentInWindow,
      sentPerS: perSecond.length > 0 ? sentInWindow / perSecond.length : 0,
      perSecond: {
        min: perSecond.length ? Math.min(...perSecond) : 0,
        median: perSecond.length ? median(perSecond) : 0,
        max: perSecond.length ? Math.max(...perSecond) : 0,
      },
      maxBacklog: fed.maxBacklog,
      throttledShare: fed.throttledShare,
      drainS,
      drained,
      final: {
        pending: lanes.pending,
        ackPending: lanes.ackPending,
        streamMessages: await streamMessages(deps.nc, topo.streams.work),
        dlqMessages: await streamMessages(deps.nc, topo.streams.dlq),
        byStatus,
      },
      webhookReceiver: { delivered: deps.receiver.successes().size, rejected: deps.receiver.rejected() },
      feederCores: (cpu.user + cpu.system) / 1e6 / feedS,
      gatewayCores: (gw1.cpuSeconds - gw0.cpuSeconds) / feedS,
      processorCores: (pr1.cpuSeconds - pr0.cpuSeconds) / feedS,
      quiet,
    };
  } finally {
    await pg.end({ timeout: 5 });
  }
}
