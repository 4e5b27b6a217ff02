import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import type { Status } from "../../schemas/enums.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import { ensurePartitions, listPartitions, monthAfter } from "./partitions.ts";
import { RETENTION_LOCK, runRetention, type RetentionReport } from "./retention.ts";

const DAY = 86_400_000;
const now = new Date();
const ago = (days: number) => new Date(now.getTime() - days * DAY);
/** Two old months: the older is dropped whole, the newer holds a notification still waiting. */
const dropped = monthAfter(now, -6);
const waiting = monthAfter(now, -5);
const mid = (m: { from: Date }) => new Date(m.from.getTime() + 14 * DAY);

interface Seed {
  tenant: string;
  status: Status;
  createdAt: Date;
  updatedAt?: Date;
  keyed?: boolean;
}

/** Rows as the processor leaves them: each with one attempt, a keyed one with its `notification_ids` entry. */
async function seed(db: TestDatabase, rows: Seed[]): Promise<string[]> {
  const input = rows.map((r) => ({
    id: crypto.randomUUID(),
    tenant_id: r.tenant,
    status: r.status,
    key: r.keyed ? `k-${crypto.randomUUID()}` : null,
    created_at: r.createdAt.toISOString(),
    updated_at: (r.updatedAt ?? r.createdAt).toISOString(),
  }));
  const json = JSON.stringify(input);
  await db.sql.run(
    `with x as (select * from jsonb_to_recordset($1::jsonb) as x(id uuid, tenant_id text, status text, key text, created_at timestamptz, updated_at timestamptz)),
     n as (insert into notifications (id, tenant_id, user_id, channel, type, priority, status, payload, idempotency_key, created_at, updated_at)
           select id, tenant_id, 'u-1', 'in_app', 'transactional', 'normal', status, '{}'::jsonb, key, created_at, updated_at from x),
     a as (insert into delivery_attempts (notification_id, notification_created_at, attempt, provider, outcome, latency_ms)
           select id, created_at, 1, 'inbox', 'sent', 1 from x)
     insert into notification_ids (id, tenant_id, idempotency_key, created_at) select id, tenant_id, key, created_at from x where key is not null`,
    [json],
  );
  return input.map((r) => r.id);
}

async function count(client: postgres.Sql, table: string, where = "true"): Promise<number> {
  const [row] = await client.unsafe<Array<{ n: number }>>(`select count(*)::int as n from ${table} where ${where}`);
  return row?.n ?? -1;
}

const ids = (list: string[]) => `(${list.map((id) => `'${id}'`).join(", ")})`;

describe("runRetention", () => {
  let db: TestDatabase;
  let client: postgres.Sql;
  const seeded: Record<string, string[]> = {};

  beforeAll(async () => {
    db = await createTestDatabase();
    client = postgres(db.url, { max: 2, onnotice: () => {} });
    // Every month from the oldest to now has its partition, as a processor running all along leaves them.
    await ensurePartitions(db.sql, dropped.from, 6);
    // `short` keeps 10 days; everyone else HERALD_RETENTION_DAYS, 90 here.
    await client`insert into tenants (id, retention_days) values ('short', 10)`;
    seeded.oldMonth = await seed(db, [
      ...Array.from({ length: 6 }, () => ({ tenant: "acme", status: "sent" as const, createdAt: mid(dropped), keyed: true })),
      { tenant: "short", status: "failed", createdAt: mid(dropped) },
    ]);
    // A cancelled notification that was scheduled far ahead: its schedule goes with its month.
    [seeded.cancelledScheduled] = [await seed(db, [{ tenant: "acme", status: "cancelled", createdAt: mid(dropped) }])];
    await client`insert into schedules (notification_id, notification_created_at, due_at, reason)
      values (${seeded.cancelledScheduled[0] ?? ""}, ${mid(dropped)}, ${new Date(now.getTime() + 300 * DAY)}, 'scheduled')`;
    seeded.waitingMonthExpired = await seed(
      db,
      Array.from({ length: 4 }, () => ({ tenant: "acme", status: "delivered" as const, createdAt: mid(waiting) })),
    );
    seeded.stillWaiting = await seed(db, [{ tenant: "acme", status: "scheduled", createdAt: mid(waiting) }]);
    await client`insert into schedules (notification_id, notification_created_at, due_at, reason)
      values (${seeded.stillWaiting[0] ?? ""}, ${mid(waiting)}, ${new Date(now.getTime() + 30 * DAY)}, 'scheduled')`;
    seeded.shortExpired = await seed(
      db,
      Array.from({ length: 7 }, (_, i) => ({ tenant: "short", status: "sent" as const, createdAt: ago(20 + i), keyed: i % 2 === 0 })),
    );
    seeded.shortRecent = await seed(db, [
      { tenant: "short", status: "sent", createdAt: ago(5) },
      // Created long ago, sent only lately (it was scheduled): kept until its last change ages out.
      { tenant: "short", status: "sent", createdAt: ago(30), updatedAt: ago(2) },
      { tenant: "short", status: "retrying", createdAt: ago(25) },
    ]);
    seeded.longRecent = await seed(db, [{ tenant: "acme", status: "sent", createdAt: ago(20) }]);
  });

  afterAll(async () => {
    await client.end();
    await db.drop();
  });

  const pass = (dryRun: boolean) => db.session((sql) => runRetention(sql, { defaultDays: 90, now, dryRun, batchSize: 3, pauseFactor: 0 }));

  test("a dry run counts what would go and changes nothing", async () => {
    const before = await count(client, "notifications");
    const report = await pass(true);
    expect(report).toMatchObject({ dryRun: true, busy: false, longestDays: 90 });
    // The old month, and any empty month between the two seeded ones that is past the 90 days too.
    expect(report.dropped[0]).toEqual({
      partition: `notifications_${dropped.suffix}`,
      from: dropped.from.toISOString(),
      to: dropped.to.toISOString(),
      notifications: 8,
      attempts: 8,
    });
    expect(report.deleted).toMatchObject({ batches: 0 });
    expect(report.dropped.slice(1).map((d) => d.notifications)).toEqual(report.dropped.slice(1).map(() => 0));
    expect(report.kept).toEqual([{ partition: `notifications_${waiting.suffix}`, reason: expect.stringContaining("1 of its 5 notifications") }]);
    expect(report.byTenant).toEqual({ acme: 4, short: 7 });
    expect(await count(client, "notifications")).toBe(before);
    expect((await listPartitions(db.sql)).map((p) => p.name)).toContain(`notifications_${dropped.suffix}`);
  });

  let report: RetentionReport;
  test("drops a month past the longest retention with its attempts, schedules and ids, and keeps a month with a notification still waiting", async () => {
    report = await pass(false);
    expect(report.dropped.map((d) => [d.partition, d.notifications, d.attempts])[0]).toEqual([`notifications_${dropped.suffix}`, 8, 8]);
    const names = (await listPartitions(db.sql)).map((p) => p.name);
    expect(names).not.toContain(`notifications_${dropped.suffix}`);
    expect((await listPartitions(db.sql, "delivery_attempts")).map((p) => p.name)).not.toContain(`delivery_attempts_${dropped.suffix}`);
    expect(names).toContain(`notifications_${waiting.suffix}`);
    expect(report.kept.map((k) => k.partition)).toEqual([`notifications_${waiting.suffix}`]);
    expect(await count(client, "notification_ids", `id in ${ids(seeded.oldMonth ?? [])}`)).toBe(0);
    expect(await count(client, "schedules", `notification_id in ${ids(seeded.cancelledScheduled ?? [])}`)).toBe(0);
  });

  test("deletes the expired rows of a kept month in batches, and never a notification still waiting", async () => {
    expect(await count(client, "notifications", `id in ${ids(seeded.waitingMonthExpired ?? [])}`)).toBe(0);
    expect(await count(client, "delivery_attempts", `notification_id in ${ids(seeded.waitingMonthExpired ?? [])}`)).toBe(0);
    expect(await count(client, "notifications", `id in ${ids(seeded.stillWaiting ?? [])} and status = 'scheduled'`)).toBe(1);
    expect(await count(client, "schedules", `notification_id in ${ids(seeded.stillWaiting ?? [])}`)).toBe(1);
  });

  test("deletes a shorter-retention tenant's expired rows, their attempts and ids, and keeps its recent, recently changed and retrying ones", async () => {
    const expired = seeded.shortExpired ?? [];
    expect(await count(client, "notifications", `id in ${ids(expired)}`)).toBe(0);
    expect(await count(client, "delivery_attempts", `notification_id in ${ids(expired)}`)).toBe(0);
    expect(await count(client, "notification_ids", `id in ${ids(expired)}`)).toBe(0);
    expect(await count(client, "notifications", `id in ${ids(seeded.shortRecent ?? [])}`)).toBe(3);
    expect(await count(client, "notifications", `id in ${ids(seeded.longRecent ?? [])}`)).toBe(1);
    expect(report.byTenant).toEqual({ acme: 4, short: 7 });
    expect(report.deleted).toMatchObject({ notifications: 11, attempts: 11 });
    // Batches of 3: the 4 of one tenant and the 7 of the other take two and three, each one short statement.
    expect(report.deleted.batches).toBe(5);
    expect(report.dropped[0]?.ms).toBeGreaterThanOrEqual(0);
  });

  test("leaves no detached table behind, and drops one a pass that stopped between detach and drop left", async () => {
    const detached = async () =>
      (await client<Array<{ n: string }>>`select relname as n from pg_class where relname like '%\_expired' and relkind = 'r'`).map((r) => r.n);
    expect(await detached()).toEqual([]);
    await client`create table notifications_p199901_expired (like notifications)`;
    await client`create table delivery_attempts_p199901_expired (like delivery_attempts)`;
    await pass(false);
    expect(await detached()).toEqual([]);
  });

  test("a second pass finds nothing more to do", async () => {
    const again = await pass(false);
    expect(again.dropped).toEqual([]);
    expect(again.deleted.notifications).toBe(0);
    expect(again.defaultRows).toBe(0);
  });

  test("a pass while another holds the lock does nothing and says so", async () => {
    const holder = await client.reserve();
    try {
      await holder`select pg_advisory_lock(${RETENTION_LOCK.toString()})`;
      const busy = await pass(false);
      expect(busy.busy).toBe(true);
      await holder`select pg_advisory_unlock(${RETENTION_LOCK.toString()})`;
    } finally {
      holder.release();
    }
  });
});
