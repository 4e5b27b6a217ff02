import { afterAll, beforeAll, expect, test } from "bun:test";
import { NOOP_METRICS, type MetricsRecorder } from "../lib/telemetry/recorder.ts";
import { createTestDatabase, type TestDatabase } from "../test/support/services.ts";
import { captureLogs } from "../test/support/loggers.ts";
import { eventually } from "../test/support/eventually.ts";
import { createMaintenance } from "./maintenance.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.sql.run("insert into tenants (id, retention_days) values ('short', 3)", []);
});
afterAll(async () => {
  await db.drop();
});

/** `n` sent notifications of `tenant` made `daysAgo`, each with an attempt. */
async function seed(tenant: string, daysAgo: number, n: number): Promise<void> {
  await db.sql.run(
    `with n as (
       insert into notifications (id, tenant_id, user_id, channel, type, priority, status, payload, created_at, updated_at)
       select gen_random_uuid(), $1, 'u', 'in_app', 'transactional', 'normal', 'sent', '{}'::jsonb, now() - $2 * interval '1 day', now() - $2 * interval '1 day'
       from generate_series(1, $3::int) returning id, created_at)
     insert into delivery_attempts (notification_id, notification_created_at, attempt, provider, outcome, latency_ms)
     select id, created_at, 1, 'inbox', 'sent', 1 from n`,
    [tenant, daysAgo, n],
  );
}

const rowsOf = async (tenant: string) => Number((await db.sql.run("select count(*)::int as n from notifications where tenant_id = $1", [tenant]))[0]?.n);

test("with no interval it keeps the partitions ahead and removes nothing", async () => {
  await seed("short", 10, 2);
  const { logger } = captureLogs("info");
  const m = createMaintenance({ session: db.session, log: logger, options: { retentionDays: 90, retentionEveryMs: 0 } });
  await m.start();
  await Bun.sleep(300);
  await m.stop();
  expect(await rowsOf("short")).toBe(2);
});

test("runs a pass on its interval, counts what it removed by table and way, and stops without waiting for the next", async () => {
  await seed("short", 10, 3);
  const expired = await rowsOf("short");
  const removed: Array<[string, string, number]> = [];
  const metrics: MetricsRecorder = { ...NOOP_METRICS, retentionRemoved: (table, how, rows) => void removed.push([table, how, rows]) };
  const { logger, lines } = captureLogs("info");
  const m = createMaintenance({ session: db.session, log: logger, metrics, options: { retentionDays: 90, retentionEveryMs: 100 } });
  await m.start();
  try {
    await eventually(async () => (await rowsOf("short")) === 0, { label: "the expired rows removed" });
    await eventually(async () => lines.some((l) => l.msg === "retention pass done"), { label: "the pass logged" });
  } finally {
    const stopping = performance.now();
    await m.stop();
    expect(performance.now() - stopping).toBeLessThan(2_000);
  }
  const total = (table: string) => removed.filter(([t, how]) => t === table && how === "deleted").reduce((n, [, , rows]) => n + rows, 0);
  expect([total("notifications"), total("delivery_attempts")]).toEqual([expired, expired]);
});
