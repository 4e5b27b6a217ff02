import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { eq } from "drizzle-orm";
import type { Envelope } from "../schemas/envelope.ts";
import { notifications, schedules } from "../schemas/tables.ts";
import { replayDeadLetters, type ReplayDeps } from "./dead-letter-admin.ts";
import { eventually } from "../test/support/eventually.ts";
import { startWebhookReceiver } from "../test/support/webhook-receiver.ts";
import type { ReplayOptions } from "../schemas/dead-letter.ts";
import { createHarness, envelope, testSenders, type Harness } from "../test/support/processor-harness.ts";

// A provider down long enough to fail notifications for good comes back, and the replay sends them again from their rows.
let down = true;
const receiver = startWebhookReceiver({ "/hook": () => ({ status: down ? 503 : 200 }) });
let h: Harness;

beforeAll(async () => {
  h = await createHarness();
  await h.start(testSenders(), { maxAttempts: 2 });
});
afterAll(async () => {
  await h.cleanup();
  await receiver.stop();
});

const CLI = { actor: "cli", clientAddress: null };
const depsOf = (x: Harness): ReplayDeps => ({ db: x.db.db, publisher: x.out, topo: x.topo, log: x.log });

async function replay(x: Harness, opts: Omit<ReplayOptions, "dryRun">) {
  const report = await replayDeadLetters(depsOf(x), opts, CLI);
  if (report.dryRun) throw new Error("a replay reported a dry run");
  return report;
}

async function dryRun(x: Harness, opts: Omit<ReplayOptions, "dryRun">) {
  const report = await replayDeadLetters(depsOf(x), { ...opts, dryRun: true }, CLI);
  if (!report.dryRun) throw new Error("a dry run reported a replay");
  return report;
}

const hook = (tenantId: string) => envelope({ tenantId, channel: "webhook", payload: { url: receiver.url(), body: { n: 1 } } });

/** Publishes notifications to a provider that is down and waits until each has failed for good. */
async function failed<T extends string[]>(...tenants: T): Promise<{ [K in keyof T]: Envelope }> {
  down = true;
  const es = tenants.map(hook);
  for (const e of es) await h.publish(e);
  for (const e of es) await eventually(async () => (await h.row(e.id))?.status === "failed", { timeoutMs: 10_000 });
  return es as { [K in keyof T]: Envelope };
}

async function sent(id: string) {
  return eventually(
    async () => {
      const r = await h.row(id);
      return r?.status === "sent" ? r : null;
    },
    { timeoutMs: 10_000 },
  );
}

/** Messages ever stored in the work stream: acked ones leave it, its last sequence stays. */
const published = async () => (await (await jetstreamManager(h.nc)).streams.info(h.topo.streams.work)).state.last_seq;

/** The scheduler publishes a replay's messages within its poll: exactly `n` more, and no more a little later. */
async function publishedSettles(n: number): Promise<void> {
  await eventually(async () => (await published()) >= n);
  await Bun.sleep(300);
  expect(await published()).toBe(n);
}

test("replays failed notifications once the provider is back: sent on the next attempt, with a retrying event; the garbage and other tenants stay", async () => {
  const [a1, a2, b1] = await failed("acme", "acme", "beta");
  await h.publishRaw(h.topo.sendSubject("normal", "webhook"), "not an envelope");

  // A dry run names what it would replay and changes nothing.
  const before = await published();
  const dry = await dryRun(h, { tenant: "acme" });
  expect([...dry.wouldReplay].sort()).toEqual([a1.id, a2.id].sort());
  expect((await h.row(a1.id))?.status).toBe("failed");
  expect(await published()).toBe(before);

  down = false;
  const report = await replay(h, { tenant: "acme" });
  expect(report).toEqual({ dryRun: false, replayed: dry.wouldReplay, unreplayable: [], skipped: 0 });
  for (const e of [a1, a2]) {
    expect((await sent(e.id)).attempts).toBe(3);
    expect(receiver.hits(e.id)).toBe(3);
  }
  expect((await h.row(b1.id))?.status).toBe("failed");
  const events = (await h.readStream(h.topo.streams.events))
    .filter((m) => m.subject === h.topo.eventSubject("retrying"))
    .map((m) => m.data as { id: string; attempt?: number; error?: string });
  const replayedEvents = events.filter((ev) => ev.error === "replayed after it failed");
  expect(replayedEvents.map((ev) => ev.id).sort()).toEqual([a1.id, a2.id].sort());
  expect(replayedEvents.map((ev) => ev.attempt)).toEqual([2, 2]);
});

test("replays from Postgres after the dead-letter stream was purged: the notification is then sent", async () => {
  const [e] = await failed("purged");
  await eventually(async () => (await h.readStream(h.topo.streams.dlq)).some((m) => (m.data as { envelope?: { id: string } }).envelope?.id === e.id), {
    timeoutMs: 5_000,
  });
  await (await jetstreamManager(h.nc)).streams.purge(h.topo.streams.dlq);
  expect(await h.readStream(h.topo.streams.dlq)).toEqual([]);

  down = false;
  const report = await replay(h, { tenant: "purged" });
  expect(report.replayed).toEqual([e.id]);
  expect((await sent(e.id)).attempts).toBe(3);
});

test("a replayed notification gets a fresh retry budget; failing it too, it is failed and dead-lettered again, and can be replayed again", async () => {
  const [e] = await failed("gamma");
  expect((await replay(h, { tenant: "gamma" })).replayed).toEqual([e.id]);
  // maxAttempts 2: attempts 1-2 before the replay, 3-4 after it.
  const row = await eventually(
    async () => {
      const r = await h.row(e.id);
      return r?.status === "failed" && r.attempts === 4 ? r : null;
    },
    { timeoutMs: 10_000 },
  );
  expect(receiver.hits(e.id)).toBe(4);
  expect((await h.attempts(e.id)).map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
  expect(row.lastError).toContain("gave up after 4 attempts, 2 since the replay");
  await eventually(
    async () =>
      (await h.readStream(h.topo.streams.dlq)).some(
        (m) => (m.data as { envelope?: { id: string }; attempts?: number }).envelope?.id === e.id && (m.data as { attempts?: number }).attempts === 4,
      ),
    { timeoutMs: 5_000 },
  );

  // A new failure is a new replay (its msg id names the attempts), not a duplicate of the first.
  down = false;
  expect((await replay(h, { tenant: "gamma" })).replayed).toEqual([e.id]);
  expect((await sent(e.id)).attempts).toBe(5);
});

test("a row whose payload cannot be sent on its channel is reported unreplayable and left failed", async () => {
  const poison = hook("poison");
  await h.db.db.insert(notifications).values({
    id: poison.id,
    tenantId: "poison",
    userId: poison.userId,
    channel: "webhook",
    type: "transactional",
    priority: "normal",
    status: "failed",
    payload: {},
    attempts: 0,
    lastError: "could not be stored",
  });
  const [fine] = await failed("poison");
  down = false;
  const before = await published();
  const report = await replay(h, { tenant: "poison" });
  expect(report).toEqual({ dryRun: false, replayed: [fine.id], unreplayable: [poison.id], skipped: 0 });
  await publishedSettles(before + 1);
  expect(await h.row(poison.id)).toMatchObject({ status: "failed", lastError: "could not be stored" });
  await sent(fine.id);
});

test("two replays at once publish each row once, and a replay run again publishes nothing new", async () => {
  const es = await failed("twice", "twice", "twice", "twice", "twice");
  down = false;
  const before = await published();
  const [one, two] = await Promise.all([replay(h, { tenant: "twice" }), replay(h, { tenant: "twice" })]);
  expect([...one.replayed, ...two.replayed].sort()).toEqual(es.map((e) => e.id).sort());
  await publishedSettles(before + 5);
  for (const e of es) await sent(e.id);
  const again = await replay(h, { tenant: "twice" });
  expect(again).toEqual({ dryRun: false, replayed: [], unreplayable: [], skipped: 0 });
  await publishedSettles(before + 5);
  for (const e of es) expect(receiver.hits(e.id)).toBe(3);
});

test("limit stops early, oldest failure first; since keeps older failures out; a notification sent since is not replayed", async () => {
  const [x, y, z] = await failed("delta", "delta", "delta");
  const at = (iso: string) => new Date(iso);
  await h.db.db
    .update(notifications)
    .set({ updatedAt: at("2026-11-20T06:00:00.000Z") })
    .where(eq(notifications.id, y.id));
  await h.db.db
    .update(notifications)
    .set({ updatedAt: at("2026-11-20T07:00:00.000Z") })
    .where(eq(notifications.id, x.id));
  // Sent some other way meanwhile (say, re-submitted and the row fixed by hand): its dead letter is still in the stream.
  await h.db.db.update(notifications).set({ status: "sent" }).where(eq(notifications.id, z.id));
  expect((await replay(h, { tenant: "delta", limit: 0 })).replayed).toEqual([]);
  expect((await dryRun(h, { tenant: "delta", limit: 1 })).wouldReplay).toEqual([y.id]);
  expect((await dryRun(h, { tenant: "delta", since: at("2026-11-20T06:30:00Z") })).wouldReplay).toEqual([x.id]);
  down = false;
  expect((await replay(h, { tenant: "delta" })).replayed).toEqual([y.id, x.id]);
  for (const e of [x, y]) await sent(e.id);
  expect(receiver.hits(z.id)).toBe(2);
});

test("a replay commits the rows and their release together: with no processor running they wait, nothing is stranded, and a processor sends them", async () => {
  const [e] = await failed("later");
  const idle = await createHarness();
  try {
    // The same rows seen from a namespace with no processor: the replay only writes Postgres.
    await idle.db.db.insert(notifications).values({ ...(await h.row(e.id))!, tenantId: "later" });
    const report = await replay(idle, { tenant: "later" });
    expect(report.replayed).toEqual([e.id]);
    expect(await idle.row(e.id)).toMatchObject({ status: "retrying" });
    const waiting = await idle.db.db.select().from(schedules).where(eq(schedules.notificationId, e.id));
    expect(waiting.map((w) => w.reason)).toEqual(["replay"]);
    down = false;
    await idle.start(testSenders(), { maxAttempts: 2 });
    await eventually(async () => (await idle.row(e.id))?.status === "sent", { timeoutMs: 10_000 });
    expect(await idle.db.db.select().from(schedules)).toEqual([]);
  } finally {
    await idle.cleanup();
  }
});
