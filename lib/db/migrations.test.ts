import { afterAll, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { PgDialect, type PgSession } from "drizzle-orm/pg-core";
import postgres from "postgres";
import { connectPostgres } from "./connect.ts";
import { createTestDatabase, SERVICES } from "../../test/support/services.ts";
import { embeddedMigrations } from "./migrations.ts";
import { claim } from "./notification-repository.ts";
import { envelope } from "../../test/support/processor-harness.ts";
import { monthOf } from "./partitions.ts";

const created: Array<{ drop(): Promise<void> }> = [];
afterAll(async () => {
  for (const db of created) await db.drop();
});

test("embeds exactly the migrations drizzle reads from the folder, with the same hashes", () => {
  expect(embeddedMigrations()).toEqual(readMigrationFiles({ migrationsFolder: new URL("../../schemas/migrations", import.meta.url).pathname }));
});

test("migrates a new database (createTestDatabase did), records each migration once, and a second run changes nothing", async () => {
  const test = await createTestDatabase();
  created.push(test);
  const handle = connectPostgres(test.url, { max: 1 });
  const client = postgres(test.url, { max: 1, onnotice: () => {} });
  try {
    await handle.migrate();
    const applied = await client<{ hash: string }[]>`select hash from drizzle.__drizzle_migrations order by created_at`;
    expect(applied.map((r) => r.hash)).toEqual(embeddedMigrations().map((m) => m.hash));
    const columns = await client`select 1 from information_schema.columns where table_name = 'delivery_attempts' and column_name = 'provider_message_id'`;
    expect(columns.length).toBe(1);
  } finally {
    await Promise.all([handle.close(), client.end()]);
  }
});

test("0008 partitions a populated 0007 database: every row moved to its month, attempts, schedules and keys kept", async () => {
  const name = `herald_t_0007_${process.pid}_${Date.now().toString(36)}`;
  const admin = postgres(SERVICES.postgresAdmin, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = SERVICES.postgresAdmin.replace(/\/[^/]*$/, `/${name}`);
  const client = postgres(url, { max: 1, onnotice: () => {} });
  const handle = connectPostgres(url, { max: 2 });
  try {
    const through0007 = embeddedMigrations().slice(0, 8);
    const session = (drizzle(client) as unknown as { _: { session: PgSession } })._.session;
    await new PgDialect().migrate(through0007, session, { migrationsFolder: "" });
    // Three months of history, a keyed row, a scheduled one, and one from a time no partition will cover.
    await client`
      insert into notifications (id, tenant_id, user_id, channel, type, priority, status, payload, idempotency_key, created_at)
      select gen_random_uuid(), 'acme', 'u-' || g, 'in_app', 'transactional', 'normal', 'sent', '{"title":"t","body":"b"}'::jsonb,
        'key-' || g, now() - (g || ' days')::interval
      from generate_series(1, 90) g`;
    await client`insert into delivery_attempts (notification_id, attempt, provider, outcome, latency_ms) select id, 1, 'inbox', 'sent', 3 from notifications`;
    const [waiting] = await client<Array<{ id: string }>>`
      insert into notifications (id, tenant_id, user_id, channel, type, priority, status, payload, created_at)
      values (gen_random_uuid(), 'acme', 'u-w', 'in_app', 'transactional', 'normal', 'scheduled', '{}'::jsonb, now() - interval '40 days') returning id`;
    await client`insert into schedules (notification_id, due_at, reason) values (${waiting?.id ?? ""}, now() + interval '1 day', 'scheduled')`;
    await client`
      insert into notifications (id, tenant_id, user_id, channel, type, priority, status, payload, created_at)
      values (gen_random_uuid(), 'acme', 'u-old', 'in_app', 'transactional', 'normal', 'failed', '{}'::jsonb, '1999-06-01T00:00:00Z')`;
    const before = await client<Array<{ id: string; created_at: string; status: string }>>`select id, created_at, status from notifications order by id`;

    await handle.migrate();

    const after = await client<Array<{ id: string; created_at: string; status: string; p: string }>>`
      select id, created_at, status, tableoid::regclass::text as p from notifications order by id`;
    expect(after.map(({ p: _p, ...r }) => r)).toEqual(before);
    for (const row of after) {
      // Timestamps come as text here: drizzle sets the client's parsers.
      const at = new Date(row.created_at);
      const expected = at.getUTCFullYear() < 2000 ? "notifications_default" : `notifications_${monthOf(at).suffix}`;
      expect(row.p).toBe(expected);
    }
    const [moved] = await client<Array<{ attempts: number; keyed: number; schedules: number }>>`
      select (select count(*)::int from delivery_attempts a join notifications n on n.id = a.notification_id and n.created_at = a.notification_created_at) as attempts,
        (select count(*)::int from notification_ids) as keyed,
        (select count(*)::int from schedules s join notifications n on n.id = s.notification_id and n.created_at = s.notification_created_at) as schedules`;
    expect(moved).toEqual({ attempts: 90, keyed: 90, schedules: 1 });
    // A migrated keyed row still names its key's only notification: a retry with another acceptedAt makes no second row.
    const [keyed] = await client<Array<{ id: string }>>`select id from notifications where idempotency_key = 'key-45'`;
    const retry = envelope({ id: keyed?.id ?? "", idempotencyKey: "key-45" });
    const claimed = await claim(handle.sql, [retry], Date.now());
    expect(claimed.firstSeen.size).toBe(0);
    const [copies] = await client<Array<{ n: number }>>`select count(*)::int as n from notifications where id = ${keyed?.id ?? ""}`;
    expect(copies?.n).toBe(1);
  } finally {
    await Promise.all([client.end(), handle.close()]);
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}, 60_000);
