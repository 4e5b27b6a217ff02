// End-to-end throughput with millions of notifications already stored against
// an empty table, and during a retention pass that removes a large share of
// them. Two stacks of their own (namespace, database, Redis prefix, gateway
// and processor each, the processors running no pass of their own), measured
// by the end-to-end phase's feeder in alternating rounds (empty, stored, …),
// so the box's drift falls on both. The stored stack gets its rows straight
// from Postgres: each past month is loaded as a table of its own and attached
// as that month's partition (indexes built once, not row by row), the current
// month through the parent. Then, in one long round on the stored stack, a
// retention pass (lib/db/retention.ts, what `herald retention` and the
// processors run) alternates with pauses of the same length until it has
// removed everything it would: Postgres's `sent_at` gives the sent/s of the
// windows with the pass running and of those without, side by side.
import type { NatsConnection } from "@nats-io/transport-node";
import postgres from "postgres";
import { connectPostgres } from "../../lib/db/connect.ts";
import { monthAfter, monthOf, type Month } from "../../lib/db/partitions.ts";
import { runRetention, type RetentionReport } from "../../lib/db/retention.ts";
import { createStack, type Stack } from "../../test/support/stack.ts";
import { startHerald } from "../../test/support/herald-process.ts";
import type { WebhookReceiver } from "../../test/support/webhook-receiver.ts";
import type { Cleanup } from "../lib/cleanup.ts";
import { stopHerald } from "../lib/herald.ts";
import type { E2eRun, RetentionRun } from "../types.ts";
import { e2ePhase } from "./e2e.ts";

export interface RetentionDeps {
  apiKey: string;
  nc: NatsConnection;
  receiver: WebhookReceiver;
  cleanup: Cleanup;
}

export interface RetentionOptions {
  /** Notifications stored before the rounds, each with one attempt. */
  rows: number;
  /** Days back they are spread over: the retention window. */
  days: number;
  /** Rounds per side. */
  rounds: number;
  rampS: number;
  seconds: number;
  /** At most this long, the round the pass runs in: it starts after the ramp, and feeding stops once it is done. */
  passRoundS: number;
  /** Seconds of each window with the pass running, and of each pause between them. */
  windowS: number;
  batchSize: number;
}

/** The stored rows' tenants; the bench's own (acme) is fed. `short` keeps less than the rest, so the pass also deletes in batches. */
const TENANTS = ["acme", "t1", "t2", "t3", "short"];
const SHORT_DAYS = 30;
const DAY_MS = 86_400_000;

interface Side {
  stack: Stack;
  remove: () => Promise<void>;
  gateway: Awaited<ReturnType<typeof startHerald>>;
  processor: Awaited<ReturnType<typeof startHerald>>;
}

async function startSide(name: string, cleanup: Cleanup): Promise<Side> {
  // The webhook receiver is on loopback; no pass runs but the one this phase starts.
  const stack = await createStack({ HERALD_WEBHOOK_ALLOW_PRIVATE: "1", LOG_LEVEL: "info", HERALD_RETENTION_INTERVAL_S: "0" });
  let removed: Promise<void> | null = null;
  const remove = () => (removed ??= stack.cleanup());
  cleanup.defer(`retention phase (${name}): streams, Redis keys and database`, remove);
  const gateway = await startHerald("gateway", { ...stack.env, LOG_LEVEL: "warn" }, { keepLogs: false });
  cleanup.defer(`retention phase (${name}): gateway`, () => stopHerald(gateway));
  const processor = await startHerald("processor", stack.env, { keepLogs: false });
  cleanup.defer(`retention phase (${name}): processor`, () => stopHerald(processor));
  return { stack, remove, gateway, processor };
}

/** `n` rows created evenly over [lo, hi): UUIDv7-shaped ids of their time, as the gateway makes, tenants and users round-robin. */
function rowsSql(table: string, n: number, lo: Date, hi: Date): string {
  return `
    insert into ${table} (id, tenant_id, user_id, channel, type, priority, status, payload, attempts, created_at, updated_at, sent_at)
    select (lpad(to_hex(floor(extract(epoch from ts) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
      (array[${TENANTS.map((t) => `'${t}'`).join(", ")}])[1 + g % ${TENANTS.length}], 'user-' || (g % 100000), 'in_app', 'transactional', 'normal', 'sent',
      '{"title":"Stored","body":"A notification kept until its retention ends"}'::jsonb, 1, ts, ts, ts
    from (select g, md5(random()::text) as h,
            '${lo.toISOString()}'::timestamptz + (g::float8 / ${n}) * ('${hi.toISOString()}'::timestamptz - '${lo.toISOString()}'::timestamptz) as ts
          from generate_series(0, ${n - 1}) g) x`;
}

/** Stores `rows` notifications spread over the last `days` days, one attempt each; returns what Postgres then holds. */
async function store(
  url: string,
  rows: number,
  days: number,
  log: (line: string) => void,
): Promise<{ notifications: number; attempts: number; bytes: number }> {
  const pg = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const now = new Date();
    const start = new Date(now.getTime() - days * DAY_MS);
    await pg.unsafe(`insert into tenants (id, retention_days) values ('short', ${SHORT_DAYS})`);
    const current = monthOf(now);
    for (let m: Month = monthOf(start); m.from < now; m = monthAfter(m.from, 1)) {
      const lo = m.from < start ? start : m.from;
      const hi = m.to > now ? now : m.to;
      const n = Math.round((rows * (hi.getTime() - lo.getTime())) / (now.getTime() - start.getTime()));
      if (n <= 0) continue;
      const t0 = performance.now();
      if (m.suffix === current.suffix) {
        // This month's partitions exist and take the processor's rows: through the parent.
        await pg.unsafe(`with n as (${rowsSql("notifications", n, lo, hi)} returning id, created_at)
          insert into delivery_attempts (notification_id, notification_created_at, attempt, provider, outcome, latency_ms, created_at)
          select id, created_at, 1, 'inbox', 'sent', 1, created_at from n`);
      } else {
        const [nt, at] = [`notifications_${m.suffix}`, `delivery_attempts_${m.suffix}`];
        await pg.unsafe(`create table ${nt} (like notifications including defaults)`);
        await pg.unsafe(rowsSql(nt, n, lo, hi));
        await pg.unsafe(`create table ${at} (like delivery_attempts including defaults)`);
        await pg.unsafe(`insert into ${at} (notification_id, notification_created_at, attempt, provider, outcome, latency_ms, created_at)
          select id, created_at, 1, 'inbox', 'sent', 1, created_at from ${nt}`);
        const range = `from ('${m.from.toISOString()}') to ('${m.to.toISOString()}')`;
        await pg.unsafe(`alter table notifications attach partition ${nt} for values ${range}`);
        await pg.unsafe(`alter table delivery_attempts attach partition ${at} for values ${range}`);
      }
      log(`retention: stored ${n} notifications of ${m.suffix} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    // What autovacuum would have done by now (it is off on the bench box): visibility map, hint bits, statistics.
    await pg.unsafe("vacuum analyze notifications");
    await pg.unsafe("vacuum analyze delivery_attempts");
    const [held] = await pg<Array<{ n: number; a: number; bytes: number }>>`
      select (select count(*)::int from notifications) as n, (select count(*)::int from delivery_attempts) as a,
        (select sum(pg_total_relation_size(inhrelid))::float8 from pg_inherits
          where inhparent in ('notifications'::regclass, 'delivery_attempts'::regclass)) as bytes`;
    return { notifications: held?.n ?? 0, attempts: held?.a ?? 0, bytes: held?.bytes ?? 0 };
  } finally {
    await pg.end({ timeout: 5 });
  }
}

interface Window {
  pass: boolean;
  from: number;
  to: number;
}

/** What the pass removed over all its windows, and its longest statements. */
interface Removed {
  droppedNotifications: number;
  droppedAttempts: number;
  longestDropMs: number;
  deletedNotifications: number;
  deletedAttempts: number;
  batches: number;
  longestBatchMs: number;
}

function add(total: Removed, r: RetentionReport): void {
  for (const d of r.dropped) {
    total.droppedNotifications += d.notifications;
    total.droppedAttempts += d.attempts;
    total.longestDropMs = Math.max(total.longestDropMs, d.ms ?? 0);
  }
  total.deletedNotifications += r.deleted.notifications;
  total.deletedAttempts += r.deleted.attempts;
  total.batches += r.deleted.batches;
  total.longestBatchMs = Math.max(total.longestBatchMs, r.deleted.longestBatchMs);
}

/**
 * Retention passes with the default retention cut to `days`, each stopped
 * after `windowS` (it ends after its current statement) and followed by a
 * pause as long, until one finds nothing left to remove or `untilMs` passes.
 */
async function passInWindows(url: string, days: number, windowS: number, untilMs: number): Promise<{ windows: Window[]; removed: Removed; done: boolean }> {
  const handle = connectPostgres(url, { max: 1 });
  const windows: Window[] = [];
  const removed: Removed = {
    droppedNotifications: 0,
    droppedAttempts: 0,
    longestDropMs: 0,
    deletedNotifications: 0,
    deletedAttempts: 0,
    batches: 0,
    longestBatchMs: 0,
  };
  try {
    while (Date.now() < untilMs) {
      const stop = new AbortController();
      const timer = setTimeout(() => stop.abort(), windowS * 1000);
      const from = Date.now();
      const report = await handle.session((sql) => runRetention(sql, { defaultDays: days, signal: stop.signal })).finally(() => clearTimeout(timer));
      windows.push({ pass: true, from, to: Date.now() });
      add(removed, report);
      if (!stop.signal.aborted && report.dropped.length === 0 && report.deleted.notifications === 0) return { windows, removed, done: true };
      const pause = Date.now();
      await Bun.sleep(windowS * 1000);
      windows.push({ pass: false, from: pause, to: Date.now() });
    }
    return { windows, removed, done: false };
  } finally {
    await handle.close();
  }
}

/** Sent/s of the stack's feed (rows created since `since`) over the windows given: the sent rows in them over their seconds. */
async function sentPerS(url: string, since: number, windows: Window[]): Promise<number> {
  if (windows.length === 0) return 0;
  const pg = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const spans = JSON.stringify(windows.map((w) => ({ lo: new Date(w.from).toISOString(), hi: new Date(w.to).toISOString() })));
    const [row] = await pg<Array<{ n: number }>>`
      select count(*)::int as n from notifications, jsonb_to_recordset(${spans}::text::jsonb) as w(lo timestamptz, hi timestamptz)
      where created_at >= ${new Date(since)} and sent_at >= w.lo and sent_at < w.hi`;
    const seconds = windows.reduce((t, w) => t + (w.to - w.from) / 1000, 0);
    return (row?.n ?? 0) / Math.max(0.001, seconds);
  } finally {
    await pg.end({ timeout: 5 });
  }
}

const mean = (runs: E2eRun[]) => (runs.length === 0 ? 0 : runs.reduce((a, r) => a + r.sentPerS, 0) / runs.length);

export async function retentionPhase(deps: RetentionDeps, opts: RetentionOptions, log: (line: string) => void): Promise<RetentionRun> {
  const empty = await startSide("empty", deps.cleanup);
  const stored = await startSide("stored", deps.cleanup);
  try {
    const t0 = performance.now();
    const held = await store(stored.stack.db.url, opts.rows, opts.days, log);
    const storeS = (performance.now() - t0) / 1000;
    log(
      `retention: ${held.notifications} notifications and ${held.attempts} attempts stored (${(held.bytes / 2 ** 30).toFixed(2)} GiB) in ${storeS.toFixed(0)} s`,
    );
    const round = (side: Side, seconds: number, during?: { onFeedStart: () => void; signal: AbortSignal }) =>
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
        { rampS: opts.rampS, seconds, batchSize: opts.batchSize, drainTimeoutS: 60, ...during },
        log,
      );
    const runs = { empty: [] as E2eRun[], stored: [] as E2eRun[] };
    for (let i = 0; i < opts.rounds; i++) {
      const a = await round(empty, opts.seconds);
      runs.empty.push(a);
      log(`retention: round ${i + 1} empty ${Math.round(a.sentPerS)} sent/s`);
      const b = await round(stored, opts.seconds);
      runs.stored.push(b);
      log(`retention: round ${i + 1} with ${held.notifications} stored ${Math.round(b.sentPerS)} sent/s`);
    }

    // The pass: the default retention cut to two thirds of the window drops the oldest month whole, and `short` loses the rows older than its days in batches.
    const passDays = Math.round((opts.days * 2) / 3);
    let feedStart = 0;
    let running: ReturnType<typeof passInWindows> | undefined;
    const stopFeeding = new AbortController();
    const onFeedStart = () => {
      feedStart = Date.now();
      const until = feedStart + (opts.rampS + opts.passRoundS - opts.windowS) * 1000;
      running = Bun.sleep(opts.rampS * 1000).then(() => passInWindows(stored.stack.db.url, passDays, opts.windowS, until));
      // Feeding goes on until the pass is done; a failed pass stops it too and is thrown below.
      running.finally(() => stopFeeding.abort()).catch(() => {});
    };
    const during = await round(stored, opts.passRoundS, { onFeedStart, signal: stopFeeding.signal });
    if (running === undefined) throw new Error("retention phase: the pass never started");
    const { windows, removed, done } = await running;
    const on = windows.filter((w) => w.pass);
    const off = windows.filter((w) => !w.pass);
    const [onSentPerS, offSentPerS] = await Promise.all([
      sentPerS(stored.stack.db.url, feedStart - 1000, on),
      sentPerS(stored.stack.db.url, feedStart - 1000, off),
    ]);
    const passS = on.reduce((t, w) => t + (w.to - w.from) / 1000, 0);
    log(
      `retention: the pass ran ${passS.toFixed(0)} s in ${on.length} windows${done ? "" : " and was not done"}, dropped ${removed.droppedNotifications} and deleted ${removed.deletedNotifications} notifications; ${Math.round(onSentPerS)} sent/s while it ran, ${Math.round(offSentPerS)} in the pauses`,
    );
    const emptySentPerS = mean(runs.empty);
    const storedSentPerS = mean(runs.stored);
    return {
      rows: opts.rows,
      held,
      storeS,
      ...runs,
      emptySentPerS,
      storedSentPerS,
      ratio: emptySentPerS > 0 ? storedSentPerS / emptySentPerS : 0,
      pass: {
        days: passDays,
        seconds: passS,
        windows: on.length,
        windowS: opts.windowS,
        done,
        ...removed,
        round: during,
        onSentPerS,
        offSentPerS,
        ratio: offSentPerS > 0 ? onSentPerS / offSentPerS : 0,
      },
    };
  } finally {
    // Stopped here, not only at the end of the run: idle, they would still share the box with the phases after.
    await Promise.all([empty, stored].flatMap((s) => [stopHerald(s.gateway), stopHerald(s.processor)]));
    await Promise.all([empty, stored].map((s) => s.remove().catch(() => {})));
  }
}
