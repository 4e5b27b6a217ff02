import type { Sql } from "../../schemas/database.ts";
import { sqlState } from "./durable.ts";

// The partitions of `notifications` and `delivery_attempts`: one per UTC month
// of the notification's created_at in each (the two always in step, so a
// month's attempts go with its notifications), and a default partition in
// each that takes any row no month partition covers, so an insert never fails.
//
// A month, not a week or a day: every lookup by id alone (the API's reads and
// cancels, a keyed redelivery's read) probes each partition's primary-key
// index, so the grain sets how many probes a lookup pays; with the default
// retention of 90 days, months keep that at five or six. The price is that
// rows of the longest-retained tier stay until their whole month has aged
// out (lib/db/retention.ts).

/** The parents, each with the column it is partitioned by. */
export const PARTITIONED = { notifications: "created_at", delivery_attempts: "notification_created_at" } as const;
export type PartitionedTable = keyof typeof PARTITIONED;

/** A month partition's range, [from, to), and the suffix of its tables' names. */
export interface Month {
  from: Date;
  to: Date;
  /** `p202612`: the partitions are `notifications_p202612` and `delivery_attempts_p202612`. */
  suffix: string;
}

/** The UTC month `t` falls in. */
export function monthOf(t: Date): Month {
  const from = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1));
  const to = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 1));
  return { from, to, suffix: `p${from.getUTCFullYear()}${String(from.getUTCMonth() + 1).padStart(2, "0")}` };
}

/** The month `n` months after `t`'s. */
export function monthAfter(t: Date, n: number): Month {
  return monthOf(new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + n, 1)));
}

/** An attached range partition of `notifications`. */
export interface Partition {
  name: string;
  from: Date;
  to: Date;
}

/** The name of `table`'s partition for a month partition of `notifications` (`notifications_p202612` → `delivery_attempts_p202612`). */
export function sibling(table: PartitionedTable, partition: Pick<Partition, "name">): string {
  return `${table}_${partition.name.slice(partition.name.lastIndexOf("_") + 1)}`;
}

const LIST_SQL = `
  select c.relname as name,
    (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz as lo,
    (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz as hi
  from pg_inherits i join pg_class c on c.oid = i.inhrelid
  where i.inhparent = $1::regclass and pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
  order by lo`;

/** `notifications`' month partitions (not the default), oldest first. */
export async function listPartitions(sql: Sql, table: PartitionedTable = "notifications"): Promise<Partition[]> {
  const rows = await sql.run(LIST_SQL, [table]);
  return rows.map((r) => ({ name: String(r.name), from: asDate(r.lo), to: asDate(r.hi) }));
}

function asDate(v: unknown): Date {
  return v instanceof Date ? v : new Date(String(v));
}

/** The lock every partition change takes (`pg_advisory_xact_lock`), so processors creating the same month take turns. */
export const PARTITIONS_LOCK = 114784820031845n;

/** How long a partition change waits for the locks it needs before it gives up until the next pass. */
export const DDL_LOCK_TIMEOUT_MS = 1000;

/** What `ensurePartitions` did with each month it looked at. */
export interface EnsureReport {
  /** The `notifications` partitions made (each with its `delivery_attempts` sibling). */
  created: string[];
  /** Months left without a partition because rows of theirs already sit in the default partition. */
  skipped: Array<{ suffix: string; reason: string }>;
}

/**
 * Makes sure this month and the `ahead` after it have their partitions in
 * both tables, so inserts never fall into the default partition while a
 * processor runs. Idempotent, and safe from several processors at once (they
 * take turns on `PARTITIONS_LOCK`, and a month made meanwhile is left alone).
 *
 * Each month is a table of its own attached to the parent (`ATTACH` holds the
 * parent in SHARE UPDATE EXCLUSIVE, where `CREATE TABLE … PARTITION OF` would
 * hold it in ACCESS EXCLUSIVE), waiting at most `DDL_LOCK_TIMEOUT_MS` for its
 * locks. A month whose rows already went to the default partition (no
 * processor ran ahead of it) is not made: attaching it would mean moving those
 * rows under a lock, so they stay where they are and retention reads them
 * there like any other.
 */
export async function ensurePartitions(sql: Sql, now: Date, ahead = 1): Promise<EnsureReport> {
  const report: EnsureReport = { created: [], skipped: [] };
  const existing = await listPartitions(sql);
  for (let n = 0; n <= ahead; n++) {
    const month = monthAfter(now, n);
    if (existing.some((p) => p.from < month.to && month.from < p.to)) continue;
    const [stray] = await sql.run(STRAY_SQL, [month.from.toISOString(), month.to.toISOString()]);
    if (stray?.found === true) {
      report.skipped.push({ suffix: month.suffix, reason: STRAY_REASON });
      continue;
    }
    try {
      await sql.run(createMonthSql(month), []);
      report.created.push(`notifications_${month.suffix}`);
    } catch (err) {
      const state = sqlState(err);
      const message = err instanceof Error ? err.message : String(err);
      if (state === "P0001" && message.includes(MADE_MEANWHILE)) continue;
      if (state === "P0001" && message.includes(STRAY_ROWS)) report.skipped.push({ suffix: month.suffix, reason: STRAY_REASON });
      // Another change held the tables longer than the timeout: the next pass tries again.
      else if (state === "55P03") report.skipped.push({ suffix: month.suffix, reason: `the tables stayed locked for ${DDL_LOCK_TIMEOUT_MS} ms` });
      else throw err;
    }
  }
  return report;
}

const STRAY_REASON = "rows of this month are in the default partition";
// What the month's transaction raises to say why it made nothing; it then changed nothing.
const MADE_MEANWHILE = "herald: the partitions of the month exist";
const STRAY_ROWS = "herald: rows of the month are in the default partition";

const STRAY_SQL = `
  select exists (select 1 from notifications_default where created_at >= $1::timestamptz and created_at < $2::timestamptz)
    or exists (select 1 from delivery_attempts_default where notification_created_at >= $1::timestamptz and notification_created_at < $2::timestamptz) as found`;

/** One transaction: both tables' partitions for the month, or neither. Names and bounds come from `monthOf`, never from input. */
function createMonthSql(month: Month): string {
  const from = `'${month.from.toISOString()}'`;
  const to = `'${month.to.toISOString()}'`;
  const [n, a] = [`notifications_${month.suffix}`, `delivery_attempts_${month.suffix}`];
  return `
  DO $$
  BEGIN
    PERFORM set_config('lock_timeout', '${DDL_LOCK_TIMEOUT_MS}ms', true);
    PERFORM pg_advisory_xact_lock(${PARTITIONS_LOCK});
    IF to_regclass('${n}') IS NOT NULL OR to_regclass('${a}') IS NOT NULL THEN RAISE EXCEPTION '${MADE_MEANWHILE}'; END IF;
    IF EXISTS (SELECT 1 FROM notifications_default WHERE created_at >= ${from} AND created_at < ${to})
      OR EXISTS (SELECT 1 FROM delivery_attempts_default WHERE notification_created_at >= ${from} AND notification_created_at < ${to}) THEN
      RAISE EXCEPTION '${STRAY_ROWS}';
    END IF;
    CREATE TABLE ${n} (LIKE notifications INCLUDING DEFAULTS);
    ALTER TABLE notifications ATTACH PARTITION ${n} FOR VALUES FROM (${from}) TO (${to});
    CREATE TABLE ${a} (LIKE delivery_attempts INCLUDING DEFAULTS);
    ALTER TABLE delivery_attempts ATTACH PARTITION ${a} FOR VALUES FROM (${from}) TO (${to});
  END
  $$`;
}
