import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { claim, readStates, writeOutcomes } from "./notification-repository.ts";
import { ensurePartitions } from "./partitions.ts";
import { runRetention } from "./retention.ts";
import { envelope } from "../../test/support/processor-harness.ts";
import { embeddedMigrations } from "./migrations.ts";
import { SERVICES } from "../../test/support/services.ts";
import { connectPostgres, openPglite } from "./connect.ts";

/** An ISO time as `RowState.createdAt` writes it, with microseconds. */
const exactly = (iso: string) => iso.replace("Z", "000Z");

const dir = join(tmpdir(), `herald-pglite-${process.pid}`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// `npm start` without a Postgres runs the same migrations and batch statements on the embedded PGlite.
test("PGlite migrates, runs the processor's claim and outcomes statements, and keeps its partitions and retention", async () => {
  const handle = await openPglite(dir);
  try {
    await handle.migrate();
    await handle.migrate();
    const e = envelope();
    const claimed = await claim(handle.sql, [e], Date.now());
    expect([...claimed.firstSeen]).toEqual([e.id]);
    await writeOutcomes(handle.sql, [
      { id: e.id, createdAt: e.acceptedAt, attempt: 1, provider: "sink", outcome: "sent", latencyMs: 1, status: "sent", error: null, providerMessageId: null },
    ]);
    expect((await readStates(handle.sql, [e.id])).get(e.id)).toMatchObject({
      status: "sent",
      attempts: 1,
      lastError: null,
      requestHash: null,
      createdAt: exactly(e.acceptedAt),
    });
    // Partitions and retention run there too: its DO blocks, its advisory locks, its drops.
    const made = await ensurePartitions(handle.sql, new Date(Date.UTC(2020, 0, 1)), 0);
    expect(made.created).toEqual(["notifications_p202001"]);
    const pass = await handle.session((sql) => runRetention(sql, { defaultDays: 30 }));
    expect(pass).toMatchObject({ busy: false, dropped: [{ partition: "notifications_p202001", notifications: 0 }] });
    expect((await readStates(handle.sql, [e.id])).get(e.id)?.status).toBe("sent");
  } finally {
    await handle.close();
  }
}, 60_000);

// Gateway and processor start together on an empty database, and neither may fail on the other's half-made schema.
test("several pools migrating one empty database at once all succeed and record each migration once", async () => {
  const name = `herald_t_race_${process.pid}_${Date.now().toString(36)}`;
  const admin = postgres(SERVICES.postgresAdmin, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = SERVICES.postgresAdmin.replace(/\/[^/]*$/, `/${name}`);
  const handles = Array.from({ length: 4 }, () => connectPostgres(url, { max: 2 }));
  try {
    const results = await Promise.allSettled(handles.map((h) => h.migrate()));
    expect(results.map((r) => (r.status === "rejected" ? String((r.reason as Error).cause ?? r.reason) : "ok"))).toEqual(["ok", "ok", "ok", "ok"]);
    const check = postgres(url, { max: 1, onnotice: () => {} });
    const applied = await check<Array<{ hash: string }>>`select hash from drizzle.__drizzle_migrations order by created_at`;
    await check.end();
    expect(applied.map((r) => r.hash)).toEqual(embeddedMigrations().map((m) => m.hash));
  } finally {
    await Promise.all(handles.map((h) => h.close()));
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}, 60_000);

// A restarting Postgres terminates every backend; the patched postgres.js must settle each query with a retryable error.
test("a pool whose connections are terminated again and again settles every query", async () => {
  const name = `herald_t_cut_${process.pid}_${Date.now().toString(36)}`;
  const admin = postgres(SERVICES.postgresAdmin, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const handle = connectPostgres(SERVICES.postgresAdmin.replace(/\/[^/]*$/, `/${name}`), { max: 6 });
  const escaped: unknown[] = [];
  const onEscape = (err: unknown) => escaped.push(err);
  process.on("uncaughtException", onEscape);
  process.on("unhandledRejection", onEscape);
  let running = true;
  const outcomes = { ok: 0, failed: 0 };
  const worker = async () => {
    while (running) {
      const settled = await Promise.race([
        handle.db.execute(sql`select pg_sleep(0.002), ${JSON.stringify({ a: 1 })}::jsonb`).then(
          () => "ok" as const,
          () => "failed" as const,
        ),
        Bun.sleep(10_000).then(() => "hung" as const),
      ]);
      if (settled === "hung") throw new Error("a query neither answered nor failed within 10 s");
      outcomes[settled] += 1;
    }
  };
  try {
    await handle.migrate();
    const workers = Array.from({ length: 6 }, worker);
    const until = Date.now() + 2500;
    while (Date.now() < until) {
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name}`;
      await Bun.sleep(30);
    }
    running = false;
    await Promise.all(workers);
    expect(outcomes.failed).toBeGreaterThan(0);
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(escaped).toEqual([]);
  } finally {
    running = false;
    process.off("uncaughtException", onEscape);
    process.off("unhandledRejection", onEscape);
    await handle.close();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}, 60_000);
