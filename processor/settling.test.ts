import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstream } from "@nats-io/jetstream";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { NOOP_METRICS, type MetricsRecorder } from "../lib/telemetry/recorder.ts";
import { SERVICES } from "../test/support/services.ts";
import { createSinkRecorder } from "./channels/index.ts";
import { claim } from "../lib/db/notification-repository.ts";
import { eventually } from "../test/support/eventually.ts";
import { createHarness, envelope, testSenders, type Harness } from "../test/support/processor-harness.ts";

// One bad message never holds up the others, and no failure mid-way loses or repeats a send.

let h: Harness;
const sink = createSinkRecorder(10_000);
const senders = () => testSenders(sink);
const sends = (id: string) => sink.entries().filter((s) => s.id === id).length;

/** Counts failed claim statements, to show a poison message does not fail batch after batch. */
function claimErrors(): MetricsRecorder & { count(): number } {
  let n = 0;
  return {
    ...NOOP_METRICS,
    dbQuery(operation, outcome) {
      if (operation === "claim" && outcome === "error") n += 1;
    },
    count: () => n,
  };
}

const deadLetterOf = (id: string) =>
  eventually(async () => (await h.readStream(h.topo.streams.dlq)).find((m) => (m.data as { envelope?: { id: string } }).envelope?.id === id), {
    timeoutMs: 10_000,
  });

beforeAll(async () => {
  h = await createHarness();
  // A row Postgres refuses for a reason the processor cannot see beforehand: the bisection must find it.
  await h.db.db.execute(
    sql.raw(`
    create function refuse_poison() returns trigger language plpgsql as $$
    begin
      if new.user_id = 'poison-pg' and new.status <> 'failed' then
        raise exception 'this row cannot be stored' using errcode = '22023';
      end if;
      return new;
    end $$;
    create trigger refuse_poison before insert on notifications for each row execute function refuse_poison();`),
  );
});
afterAll(async () => {
  await h.cleanup();
});

describe("one bad message", () => {
  test("poison in the middle of a busy lane is failed and dead-lettered on its own while the rest are sent once", async () => {
    const good = Array.from({ length: 600 }, () => envelope());
    const refusedByPostgres = [envelope({ userId: "poison-pg" }), envelope({ userId: "poison-pg" })];
    const nul = envelope({ payload: { title: "t", body: "a\u0000b" } });
    const lateYear = envelope({ scheduledFor: "0000-01-01T00:00:00Z" });
    const all = [...good.slice(0, 200), refusedByPostgres[0], nul, ...good.slice(200, 400), lateYear, refusedByPostgres[1], ...good.slice(400)];
    for (const e of all) if (e) await h.publish(e);
    const metrics = claimErrors();
    const p = await h.start(senders(), { batchSize: 64 }, metrics);
    await eventually(async () => good.every((e) => sends(e.id) === 1) && (await h.laneIdle()), { timeoutMs: 20_000 });
    for (const e of good) expect(sends(e.id)).toBe(1);

    for (const poison of [...refusedByPostgres, nul, lateYear]) {
      if (!poison) continue;
      expect(sends(poison.id)).toBe(0);
      expect(await h.row(poison.id)).toMatchObject({ status: "failed", payload: {} });
      const dlq = await deadLetterOf(poison.id);
      expect(dlq.data).toMatchObject({ reason: "failed", error: expect.any(String) });
    }
    expect((await h.row(refusedByPostgres[0]?.id ?? ""))?.lastError).toContain("SQLSTATE 22023");
    expect((await h.row(nul.id))?.lastError).toContain("payload.body");
    expect((await h.row(lateYear.id))?.lastError).toContain("scheduledFor");
    // Each bad row cost its batch a few split statements once, not a failure every 2 s.
    const settledErrors = metrics.count();
    expect(settledErrors).toBeLessThanOrEqual(2 * 2 * Math.log2(64));
    await Bun.sleep(2500);
    expect(metrics.count()).toBe(settledErrors);
    await p.stop();
  });

  test("a message delivered again and again without a new attempt is failed as stalled, not sent", async () => {
    const e = envelope();
    // As if a processor began attempt 1 and died, over and over.
    await claim(h.db.sql, [e], Date.now());
    await h.publish(e);
    const consumer = await jetstream(h.nc).consumers.get(h.topo.streams.work, h.topo.laneConsumer("normal"));
    for (let i = 0; i < 12; i++) {
      const m = await consumer.next({ expires: 2000 });
      if (m === null) throw new Error("the message did not come back");
      m.nak();
    }
    const p = await h.start(senders(), { stallLimit: 10 });
    const row = await eventually(async () => ((await h.row(e.id))?.status === "failed" ? h.row(e.id) : null));
    expect(row?.lastError).toContain("given up as stalled");
    expect(sends(e.id)).toBe(0);
    expect((await deadLetterOf(e.id)).data).toMatchObject({ reason: "failed" });
    await eventually(() => h.laneIdle(), { label: "an idle lane" });
    await p.stop();
  });

  test("an attempt a crash cut short is recorded as interrupted and the next attempt sends", async () => {
    const e = envelope();
    await claim(h.db.sql, [e], Date.now()); // attempt 1 begun, never finished
    await h.publish(e);
    const p = await h.start(senders());
    const row = await eventually(async () => ((await h.row(e.id))?.status === "sent" ? h.row(e.id) : null));
    expect(row?.attempts).toBe(2);
    expect((await h.attempts(e.id)).map((a) => [a.attempt, a.outcome])).toEqual([
      [1, "interrupted"],
      [2, "sent"],
    ]);
    expect(sends(e.id)).toBe(1);
    await p.stop();
  });

  test("a Postgres that drops every connection for a while holds the batches: each message is sent once, none redelivered", async () => {
    const p = await h.start(senders(), { batchSize: 32 });
    const admin = postgres(SERVICES.postgresAdmin, { max: 1, onnotice: () => {} });
    const batch = Array.from({ length: 300 }, () => envelope());
    let cutting = true;
    const cuts = (async () => {
      while (cutting) {
        await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${h.db.name} and pid <> pg_backend_pid()`;
        await Bun.sleep(40);
      }
    })();
    try {
      await Promise.all(batch.map((e) => h.publish(e)));
      await Bun.sleep(1500);
    } finally {
      cutting = false;
      await cuts;
      await admin.end();
    }
    await eventually(async () => batch.every((e) => sends(e.id) >= 1) && (await h.laneIdle()), { timeoutMs: 20_000 }).catch(async (err: unknown) => {
      const unsent = batch.filter((e) => sends(e.id) === 0);
      const { jetstreamManager } = await import("@nats-io/jetstream");
      const info = await (await jetstreamManager(h.nc)).consumers.info(h.topo.streams.work, h.topo.laneConsumer("normal"));
      const rows = await Promise.all(unsent.slice(0, 3).map((e) => h.row(e.id).catch((x: unknown) => String(x))));
      const lane = `pending ${info.num_pending}, ack pending ${info.num_ack_pending}, redelivered ${info.num_redelivered}`;
      throw new Error(`${unsent.length} never sent; lane: ${lane}; first rows: ${JSON.stringify(rows)}`, { cause: err });
    });
    for (const e of batch) expect(sends(e.id)).toBe(1);
    // A lost answer to a committed statement is recognised on its retry; read on a fresh connection, as the test's pool lost its own.
    const fresh = postgres(h.db.url, { max: 1, onnotice: () => {} });
    try {
      const ids = batch.map((e) => e.id);
      const rows = await fresh<{ attempts: string }[]>`
        select string_agg(attempt || ':' || outcome, ',' order by attempt) as attempts from delivery_attempts
        where notification_id = any(${ids}::uuid[]) group by notification_id`;
      expect(rows.length).toBe(batch.length);
      expect(new Set(rows.map((r) => r.attempts))).toEqual(new Set(["1:sent"]));
    } finally {
      await fresh.end();
    }
    await p.stop();
  });
});
