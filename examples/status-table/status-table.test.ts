import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres, { type Sql } from "postgres";
import { type EventType, type LifecycleEvent, eventIdOf } from "@herald/events";
import { SERVICES, testNamespace } from "../../test/support/services.ts";
import { applyEvent, migrate } from "./status-table.ts";

// On a database of its own on the machine's Postgres.
let sql: Sql;
const name = `status_table_${testNamespace()}`;
const adminUrl = SERVICES.postgresAdmin;

beforeAll(async () => {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  sql = postgres(adminUrl.replace(/\/[^/]*$/, `/${name}`), { max: 4, onnotice: () => {} });
  await migrate(sql);
});

afterAll(async () => {
  await sql?.end();
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
});

const T0 = Date.parse("2026-12-07T10:00:00.000Z");
function event(id: string, type: EventType, ms: number, attempt?: number): LifecycleEvent {
  const ev: LifecycleEvent = {
    v: 1,
    type,
    eventId: eventIdOf({ id, type, attempt }),
    id,
    tenantId: "acme",
    userId: "u",
    channel: "email",
    at: new Date(T0 + ms).toISOString(),
  };
  return attempt ? { ...ev, attempt } : ev;
}
const statusOf = async (id: string) =>
  (await sql<{ status: string; event_id: string }[]>`select status, event_id from notification_status where id = ${id}`)[0];

test("a row only moves forward: an early event arriving late leaves it as it is", async () => {
  const id = crypto.randomUUID();
  for (const ev of [event(id, "accepted", 0), event(id, "sent", 20), event(id, "retrying", 10, 1), event(id, "accepted", 0)]) await applyEvent(sql, ev);
  expect(await statusOf(id)).toEqual({ status: "sent", event_id: `${id}:sent:0` });
});

test("events stamped the same instant are ordered by stage, whatever order they arrive in", async () => {
  const id = crypto.randomUUID();
  await applyEvent(sql, event(id, "delivered", 5));
  await applyEvent(sql, event(id, "sent", 5));
  expect((await statusOf(id))?.status).toBe("delivered");
});

test("applying every event twice, concurrently, ends where applying each once does", async () => {
  const id = crypto.randomUUID();
  const life = [event(id, "accepted", 0), event(id, "retrying", 10, 1), event(id, "retrying", 30, 2), event(id, "failed", 60, 3)];
  await Promise.all([...life, ...life].map((ev) => applyEvent(sql, ev)));
  expect(await statusOf(id)).toEqual({ status: "failed", event_id: `${id}:failed:3` });
});
