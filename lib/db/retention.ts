import type { Sql } from "../../schemas/database.ts";
import { TERMINAL_STATUSES } from "../../schemas/enums.ts";
import { sqlState } from "./durable.ts";
import { DDL_LOCK_TIMEOUT_MS, ensurePartitions, listPartitions, monthOf, sibling, type EnsureReport, type Partition } from "./partitions.ts";

// Retention: each tenant keeps its notifications (and their attempts) for its
// `tenants.retention_days`, or HERALD_RETENTION_DAYS. A notification expires
// when it is terminal and was both created and last changed before its
// tenant's cutoff; one still waiting (scheduled a year ahead, retrying) is
// never removed, however old.
//
// A pass, in this order:
// 1. the month partitions ahead are made (lib/db/partitions.ts);
// 2. every month whose whole range is older than the longest retention of any
//    tenant, and whose rows have all expired by that retention, is detached
//    from both parents in one short transaction (DETACH … CONCURRENTLY cannot
//    run in a transaction, and Postgres refuses it while a default partition
//    exists), and its two tables are dropped after it, holding only their own
//    locks;
// 3. the `notification_ids` entries of what is gone are deleted;
// 4. each tenant whose retention is shorter than the longest has its expired
//    rows deleted in batches, one short statement each (attempts and ids in
//    the same statement) followed by a pause twice as long; the
//    longest-retained tenants' rows go with their month in step 2, so they
//    are kept up to a month beyond their retention,
//    and only those a month could not be dropped for (rows of it still
//    waiting, or changed recently) are deleted here.
//
// No step holds a lock for long: the drops wait at most DDL_LOCK_TIMEOUT_MS
// for their locks (else the month waits for the next pass), and hold them for
// catalog changes only; the deletes touch old partitions the processor no
// longer writes.

/** The session lock a pass holds, so one runs at a time across processors and the CLI. */
export const RETENTION_LOCK = 114784820031846n;

export interface RetentionOptions {
  /** HERALD_RETENTION_DAYS: the days of every tenant whose row does not say otherwise. */
  defaultDays: number;
  /** Count what would go and change nothing (partitions ahead are not made either). */
  dryRun?: boolean;
  now?: Date;
  /** Rows per delete statement. */
  batchSize?: number;
  /** After each delete statement, pause this many times as long as it took (default 2), so a pass leaves the database to the processor. */
  pauseFactor?: number;
  /** Told after each step, for logs and metrics. */
  onProgress?: (event: RetentionEvent) => void;
  /** Aborted: the pass ends after the statement it is running (the processor is stopping). */
  signal?: AbortSignal;
}

export type RetentionEvent =
  | { kind: "dropped"; partition: string; notifications: number; attempts: number }
  | { kind: "deleted"; tenant: string; notifications: number; attempts: number };

export interface RetentionReport {
  dryRun: boolean;
  /** Another pass held the lock, so this one did nothing. */
  busy: boolean;
  /** The longest retention of any tenant, in days. */
  longestDays: number;
  partitions: EnsureReport;
  /** Months dropped (a dry run: would be), with the rows they held, and how long the transaction that detached them from the parents took (its lock waits included). */
  dropped: Array<{ partition: string; from: string; to: string; notifications: number; attempts: number; ms?: number }>;
  /** Months past the longest retention that were not dropped, and why. */
  kept: Array<{ partition: string; reason: string }>;
  /** Rows deleted in batches (a dry run: notifications that would be; attempts not counted), the statements, and the longest one. */
  deleted: { notifications: number; attempts: number; ids: number; batches: number; longestBatchMs: number };
  /** Notifications deleted in batches per tenant, for the tenants that had any. */
  byTenant: Record<string, number>;
  /** Rows in the default partition of `notifications`; more than none means a month was missing when they came. */
  defaultRows: number;
}

const DAY_MS = 86_400_000;
const TERMINAL = TERMINAL_STATUSES.map((s) => `'${s}'`).join(", ");
/** Catalog names go into statements as identifiers: only names Herald makes are let through. */
const SAFE_NAME = /^[a-z][a-z0-9_]*$/;

function identifier(name: string): string {
  if (!SAFE_NAME.test(name)) throw new Error(`unexpected partition name: ${name}`);
  return `"${name}"`;
}

/**
 * One retention pass (see above). `sql` must be one connection: the pass
 * holds a session lock on it (`RETENTION_LOCK`), and returns at once with
 * `busy` when another pass holds it.
 */
export async function runRetention(sql: Sql, opts: RetentionOptions): Promise<RetentionReport> {
  const now = opts.now ?? new Date();
  const report: RetentionReport = {
    dryRun: opts.dryRun ?? false,
    busy: false,
    longestDays: opts.defaultDays,
    partitions: { created: [], skipped: [] },
    dropped: [],
    kept: [],
    deleted: { notifications: 0, attempts: 0, ids: 0, batches: 0, longestBatchMs: 0 },
    byTenant: {},
    defaultRows: 0,
  };
  const [lock] = await sql.run("select pg_try_advisory_lock($1) as got", [RETENTION_LOCK.toString()]);
  if (lock?.got !== true) return { ...report, busy: true };
  try {
    if (!report.dryRun) {
      await dropDetached(sql);
      report.partitions = await ensurePartitions(sql, now);
    }
    const days = await retentionDays(sql);
    report.longestDays = Math.max(opts.defaultDays, ...days.values());
    const longestCutoff = new Date(now.getTime() - report.longestDays * DAY_MS);
    for (const p of await listPartitions(sql)) {
      if (opts.signal?.aborted) return report;
      if (p.to.getTime() <= longestCutoff.getTime()) await dropMonth(sql, p, longestCutoff, report, opts);
    }
    if (!report.dryRun) report.deleted.ids += await sweepIds(sql, opts.batchSize ?? DEFAULT_BATCH);
    // Rows of the longest-retained tier older than this lie in months step 2 looked at; newer ones wait for their month.
    const monthsPast = monthOf(longestCutoff).from;
    for (const tenant of await tenantsWithRows(sql)) {
      if (opts.signal?.aborted) return report;
      const tenantDays = days.get(tenant) ?? opts.defaultDays;
      const cutoff = new Date(now.getTime() - tenantDays * DAY_MS);
      const createdBefore = tenantDays < report.longestDays ? cutoff : monthsPast;
      await deleteExpired(sql, tenant, createdBefore, cutoff, report, opts);
    }
    const [inDefault] = await sql.run("select count(*)::int as n from notifications_default", []);
    report.defaultRows = Number(inDefault?.n ?? 0);
    return report;
  } finally {
    await sql.run("select pg_advisory_unlock($1)", [RETENTION_LOCK.toString()]);
  }
}

const DEFAULT_BATCH = 1000;

/** The tenants whose row sets their own retention. */
async function retentionDays(sql: Sql): Promise<Map<string, number>> {
  const rows = await sql.run("select id, retention_days from tenants where retention_days is not null", []);
  return new Map(rows.map((r) => [String(r.id), Number(r.retention_days)]));
}

/** Every tenant with notifications, read off the (tenant_id, …) index one tenant at a time rather than from every row. */
async function tenantsWithRows(sql: Sql): Promise<string[]> {
  const rows = await sql.run(
    `with recursive t as (
       (select tenant_id from notifications order by tenant_id limit 1)
       union all
       select (select n.tenant_id from notifications n where n.tenant_id > t.tenant_id order by n.tenant_id limit 1) from t where t.tenant_id is not null
     )
     select tenant_id from t where tenant_id is not null`,
    [],
  );
  return rows.map((r) => String(r.tenant_id));
}

/**
 * Step 2 for one month: counted first without a lock (a scan of a month the
 * processor no longer writes), then dropped in one transaction if every row
 * has expired by the longest retention. A notification of the month that is
 * scheduled keeps it (the schedule's foreign key refuses the detach); the
 * schedules of its terminal rows go with it.
 */
async function dropMonth(sql: Sql, p: Partition, longestCutoff: Date, report: RetentionReport, opts: RetentionOptions): Promise<void> {
  const n = identifier(p.name);
  const a = identifier(sibling("delivery_attempts", p));
  const [census] = await sql.run(
    `select count(*)::int as rows,
       count(*) filter (where status not in (${TERMINAL}) or updated_at >= $1::timestamptz)::int as kept,
       (select count(*)::int from ${a}) as attempts
     from ${n}`,
    [longestCutoff.toISOString()],
  );
  const rows = Number(census?.rows ?? 0);
  const attempts = Number(census?.attempts ?? 0);
  const kept = Number(census?.kept ?? 0);
  if (kept > 0) {
    report.kept.push({
      partition: p.name,
      reason: `${kept} of its ${rows} notifications are still waiting or changed within the last ${report.longestDays} days`,
    });
    return;
  }
  const entry = { partition: p.name, from: p.from.toISOString(), to: p.to.toISOString(), notifications: rows, attempts };
  if (report.dryRun) {
    report.dropped.push(entry);
    return;
  }
  // Detached and renamed under the parents' locks, which that holds for milliseconds; dropped after, under
  // their own: dropping a month's files takes hundreds of ms the parents need not wait for.
  const detach = `
    DO $$
    BEGIN
      PERFORM set_config('lock_timeout', '${DDL_LOCK_TIMEOUT_MS}ms', true);
      DELETE FROM schedules s USING ${n} x
        WHERE s.notification_id = x.id AND s.notification_created_at = x.created_at AND x.status IN (${TERMINAL});
      ALTER TABLE delivery_attempts DETACH PARTITION ${a};
      ALTER TABLE ${a} RENAME TO ${identifier(`${sibling("delivery_attempts", p)}${EXPIRED}`)};
      ALTER TABLE notifications DETACH PARTITION ${n};
      ALTER TABLE ${n} RENAME TO ${identifier(`${p.name}${EXPIRED}`)};
    END
    $$`;
  let ms = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      const started = performance.now();
      await sql.run(detach, []);
      ms = Math.round(performance.now() - started);
      break;
    } catch (err) {
      const state = sqlState(err);
      if (state === "23503") {
        report.kept.push({ partition: p.name, reason: "a notification of it is scheduled" });
        return;
      }
      // Lock timeout or deadlock with a writer: the processor's statements are short, so a later try gets the locks.
      if ((state === "55P03" || state === "40P01") && attempt < DROP_TRIES) {
        await Bun.sleep(attempt * 200);
        continue;
      }
      if (state === "55P03" || state === "40P01") {
        report.kept.push({ partition: p.name, reason: `its tables stayed locked; ${DROP_TRIES} tries of ${DDL_LOCK_TIMEOUT_MS} ms each` });
        return;
      }
      throw err;
    }
  }
  await dropDetached(sql);
  report.dropped.push({ ...entry, ms });
  opts.onProgress?.({ kind: "dropped", partition: p.name, notifications: rows, attempts });
}

const DROP_TRIES = 5;

/** What a detached month's tables are renamed to until they are dropped. */
const EXPIRED = "_expired";

/** Drops the months detached by a pass: this one's, and any a pass that stopped between its detach and its drop left. */
async function dropDetached(sql: Sql): Promise<void> {
  const left = await sql.run(
    `select c.relname as name from pg_class c join pg_namespace ns on ns.oid = c.relnamespace
     where ns.nspname = current_schema() and c.relkind = 'r' and not c.relispartition
       and c.relname ~ '^(notifications|delivery_attempts)_p[0-9]{6}${EXPIRED}$'`,
    [],
  );
  for (const r of left) await sql.run(`drop table if exists ${identifier(String(r.name))}`, []);
}

/**
 * Step 3: the `notification_ids` entries older than the oldest month
 * partition whose notification is not in the default partition, i.e. those
 * of dropped months (also of a pass that stopped between a drop and this).
 */
async function sweepIds(sql: Sql, batchSize: number): Promise<number> {
  const [oldest] = await listPartitions(sql);
  if (oldest === undefined) return 0;
  let total = 0;
  for (;;) {
    const [r] = await sql.run(
      `with doomed as (
         select k.id from notification_ids k
         where k.created_at < $1::timestamptz and not exists (select 1 from notifications_default d where d.id = k.id)
         limit $2
       ), gone as (delete from notification_ids k using doomed where k.id = doomed.id returning 1)
       select count(*)::int as n from gone`,
      [oldest.from.toISOString(), batchSize],
    );
    const n = Number(r?.n ?? 0);
    total += n;
    if (n < batchSize) return total;
  }
}

/**
 * Step 4 for one tenant: its expired rows created before `createdBefore`, in
 * batches of `batchSize`, oldest first, each batch one statement: the
 * attempts and ids of the rows it deleted go in the same statement. Lock
 * rule: a row is deleted only while it is terminal and unchanged since
 * `changedBefore`, which Postgres re-checks on a row another transaction
 * changed meanwhile, so a row moved on (replayed, delivered) is skipped and
 * keeps its attempts.
 */
async function deleteExpired(
  sql: Sql,
  tenant: string,
  createdBefore: Date,
  changedBefore: Date,
  report: RetentionReport,
  opts: RetentionOptions,
): Promise<void> {
  const expired = `tenant_id = $1 and created_at < $2::timestamptz and updated_at < $3::timestamptz and status in (${TERMINAL})`;
  const params = [tenant, createdBefore.toISOString(), changedBefore.toISOString()];
  if (report.dryRun) {
    // Not counted twice: the rows of the months the pass would drop are in `dropped`.
    const months = JSON.stringify(report.dropped.map((d) => ({ lo: d.from, hi: d.to })));
    const [r] = await sql.run(
      `select count(*)::int as n from notifications where ${expired}
         and not exists (select 1 from jsonb_to_recordset($4::jsonb) as m(lo timestamptz, hi timestamptz) where created_at >= m.lo and created_at < m.hi)`,
      [...params, months],
    );
    const n = Number(r?.n ?? 0);
    if (n > 0) {
      report.byTenant[tenant] = n;
      report.deleted.notifications += n;
    }
    return;
  }
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  let after = { createdAt: "-infinity", id: "00000000-0000-0000-0000-000000000000" };
  for (;;) {
    const started = performance.now();
    const [r] = await sql.run(
      `with doomed as (
         select id, created_at from notifications
         where ${expired} and (created_at, id) > ($4::timestamptz, $5::uuid)
         -- NULLS FIRST: what the (tenant_id, created_at desc nulls last, …) index gives read backwards, so each
         -- batch is the next rows off the index (both NOT NULL); the default NULLS LAST sorts every expired row, each batch.
         order by created_at asc nulls first, id asc nulls first
         limit $6
       ), gone as (
         delete from notifications n using doomed d
         where n.id = d.id and n.created_at = d.created_at and n.status in (${TERMINAL}) and n.updated_at < $3::timestamptz
         returning n.id, n.created_at
       ), attempts as (
         delete from delivery_attempts a using gone g where a.notification_id = g.id and a.notification_created_at = g.created_at returning 1
       ), ids as (
         delete from notification_ids k using gone g where k.id = g.id returning 1
       )
       select (select count(*)::int from gone) as notifications, (select count(*)::int from attempts) as attempts,
         (select count(*)::int from ids) as ids, (select count(*)::int from doomed) as seen,
         (select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') from doomed order by created_at desc, id desc limit 1) as last_at,
         (select id from doomed order by created_at desc, id desc limit 1) as last_id`,
      [...params, after.createdAt, after.id, batchSize],
    );
    const tookMs = performance.now() - started;
    report.deleted.batches += 1;
    report.deleted.longestBatchMs = Math.max(report.deleted.longestBatchMs, Math.round(tookMs));
    const notifications = Number(r?.notifications ?? 0);
    const attempts = Number(r?.attempts ?? 0);
    report.deleted.notifications += notifications;
    report.deleted.attempts += attempts;
    report.deleted.ids += Number(r?.ids ?? 0);
    if (notifications > 0) {
      report.byTenant[tenant] = (report.byTenant[tenant] ?? 0) + notifications;
      opts.onProgress?.({ kind: "deleted", tenant, notifications, attempts });
    }
    if (Number(r?.seen ?? 0) < batchSize || r?.last_at == null || opts.signal?.aborted) return;
    after = { createdAt: String(r.last_at), id: String(r.last_id) };
    const pause = tookMs * (opts.pauseFactor ?? 2);
    if (pause > 0) await Bun.sleep(pause);
  }
}
