// `herald retention` and the processor's own passes, as real processes against a stack of their own.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Status } from "../schemas/enums.ts";
import { startHerald } from "./support/herald-process.ts";
import { createStack, type Stack } from "./support/stack.ts";

const CLI = new URL("../bin/herald.ts", import.meta.url).pathname;
const DAY = 86_400_000;

let stack: Stack;
beforeAll(async () => {
  stack = await createStack();
  // `beta` keeps 7 days; `acme` HERALD_RETENTION_DAYS, 90 by default.
  await stack.db.sql.run("insert into tenants (id, retention_days) values ('beta', 7)", []);
});
afterAll(async () => {
  await stack.cleanup();
});

/** Rows as the processor leaves them, each with an attempt; their ids. */
async function seed(tenant: string, status: Status, daysAgo: number, n = 1): Promise<string[]> {
  const at = new Date(Date.now() - daysAgo * DAY).toISOString();
  const rows = await stack.db.sql.run(
    `with n as (
       insert into notifications (id, tenant_id, user_id, channel, type, priority, status, payload, created_at, updated_at)
       select gen_random_uuid(), $1, 'u-1', 'in_app', 'transactional', 'normal', $2, '{}'::jsonb, $3::timestamptz, $3::timestamptz
       from generate_series(1, $4::int) returning id, created_at)
     insert into delivery_attempts (notification_id, notification_created_at, attempt, provider, outcome, latency_ms)
     select id, created_at, 1, 'inbox', 'sent', 2 from n returning notification_id as id`,
    [tenant, status, at, n],
  );
  return rows.map((r) => String(r.id));
}

async function remaining(ids: string[]): Promise<number> {
  const [row] = await stack.db.sql.run("select count(*)::int as n from notifications where id = any(select jsonb_array_elements_text($1::jsonb)::uuid)", [
    JSON.stringify(ids),
  ]);
  return Number(row?.n ?? -1);
}

async function retention(...flags: string[]): Promise<{ code: number; report: Record<string, unknown>; stderr: string }> {
  const proc = Bun.spawn([process.execPath, CLI, "retention", ...flags], {
    env: { PATH: process.env.PATH ?? "", ...stack.env, LOG_LEVEL: "warn" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  const last = stdout.trim().split("\n").at(-1) ?? "";
  return { code, report: code === 0 ? (JSON.parse(last) as Record<string, unknown>) : {}, stderr };
}

test("herald retention refuses an unknown flag before connecting to anything", async () => {
  const { code, stderr } = await retention("--everything");
  expect(code).toBe(78);
  expect(stderr).toContain("invalid retention flags");
});

test("herald retention --dry-run reports what would go and changes nothing; herald retention removes it, and keeps what is waiting or young", async () => {
  const expired = await seed("beta", "sent", 20, 5);
  const young = await seed("beta", "sent", 2);
  const waiting = await seed("beta", "retrying", 20);
  const longer = await seed("acme", "sent", 20);

  const dry = await retention("--dry-run");
  expect(dry.code).toBe(0);
  expect(dry.report).toMatchObject({ dryRun: true, busy: false, longestDays: 90, byTenant: { beta: 5 }, deleted: { notifications: 5 } });
  expect(await remaining(expired)).toBe(5);

  const real = await retention();
  expect(real.report).toMatchObject({ dryRun: false, busy: false, byTenant: { beta: 5 }, deleted: { notifications: 5, attempts: 5 } });
  expect(await remaining(expired)).toBe(0);
  expect(await remaining([...young, ...waiting, ...longer])).toBe(3);
});

test("each processor runs a pass every HERALD_RETENTION_INTERVAL_S and logs what it removed", async () => {
  const expired = await seed("beta", "failed", 30, 3);
  const processor = await startHerald("processor", { ...stack.env, HERALD_RETENTION_INTERVAL_S: "1" });
  try {
    const line = await processor.waitForLog((l) => l.msg === "retention pass done" && Number(l.deletedNotifications) > 0, 20_000);
    expect(line).toMatchObject({ deletedNotifications: 3, deletedAttempts: 3 });
    expect(await remaining(expired)).toBe(0);
  } finally {
    await processor.signal("SIGTERM");
  }
}, 30_000);
