import { afterAll, beforeAll, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { notifications } from "../schemas/tables.ts";
import { createSenders } from "./channels/index.ts";
import { replayDeadLetters } from "./replay.ts";
import { startReceiver } from "./test-receiver.ts";
import { createHarness, envelope, TEST_SECRET, until, type Harness } from "./test-harness.ts";

// A provider that is down long enough to dead-letter notifications, then
// comes back: the replay hands them to the processor again.
let down = true;
const receiver = startReceiver(TEST_SECRET, { "/hook": () => ({ status: down ? 503 : 200 }) });
let h: Harness;

beforeAll(async () => {
  h = await createHarness();
  await h.start(createSenders({ webhook: { secret: TEST_SECRET, timeoutMs: 2000, allowPrivate: true } }), { maxAttempts: 2 });
});
afterAll(async () => {
  await h.cleanup();
  await receiver.stop();
});

const hook = (tenantId: string) => envelope({ tenantId, channel: "webhook", payload: { url: receiver.url("/hook"), body: { n: 1 } } });

async function dlq(): Promise<{ reason: string; envelope?: { id: string }; attempts?: number }[]> {
  return (await h.readStream(h.topo.streams.dlq)).map((m) => m.data as { reason: string; envelope?: { id: string }; attempts?: number });
}

test("replays dead letters once the provider is back: sent on the next attempt, and their dead letters removed", async () => {
  const [a1, a2, b1] = [hook("acme"), hook("acme"), hook("beta")];
  for (const e of [a1, a2, b1]) await h.publish(e);
  await h.publishRaw(h.topo.sendSubject("normal", "webhook"), "not an envelope");
  await until(async () => (await dlq()).length === 4, 10_000);
  for (const e of [a1, a2, b1]) expect((await h.row(e.id))?.status).toBe("failed");

  // A dry run names what it would replay and changes nothing.
  const dry = await replayDeadLetters(h.nc, h.db.db, h.topo, { tenant: "acme", dryRun: true });
  expect(dry.replayed.sort()).toEqual([a1.id, a2.id].sort());
  expect(dry).toMatchObject({ invalid: 1, kept: 1 });
  expect((await dlq()).length).toBe(4);
  expect((await h.row(a1.id))?.status).toBe("failed");

  down = false;
  const report = await replayDeadLetters(h.nc, h.db.db, h.topo, { tenant: "acme" });
  expect(report.replayed.sort()).toEqual([a1.id, a2.id].sort());
  for (const e of [a1, a2]) {
    const row = await until(async () => {
      const r = await h.row(e.id);
      return r?.status === "sent" ? r : null;
    }, 10_000);
    expect(row.attempts).toBe(3);
    expect(receiver.hits(e.id)).toBe(3);
  }
  // beta's dead letter and the garbage stay; acme's are gone.
  expect((await dlq()).map((d) => d.envelope?.id ?? d.reason).sort()).toEqual([b1.id, "invalid"].sort());
  const events = (await h.readStream(h.topo.streams.events)).filter((m) => m.subject === h.topo.eventSubject("retrying")).map((m) => m.data as { id: string; error?: string });
  expect(events.filter((ev) => ev.error === "replayed from the dead-letter stream").map((ev) => ev.id).sort()).toEqual([a1.id, a2.id].sort());

  // Running it again finds nothing of acme's to do.
  expect((await replayDeadLetters(h.nc, h.db.db, h.topo, { tenant: "acme" })).replayed).toEqual([]);
});

test("a replayed notification gets a fresh retry budget; failing it too, it is dead-lettered again, not lost to the DLQ's duplicate window", async () => {
  down = true;
  const e = hook("gamma");
  await h.publish(e);
  await until(async () => (await h.row(e.id))?.status === "failed", 10_000);
  const report = await replayDeadLetters(h.nc, h.db.db, h.topo, { tenant: "gamma" });
  expect(report.replayed).toEqual([e.id]);
  // maxAttempts 2: attempts 1-2 before the replay, 3-4 after it.
  const row = await until(async () => {
    const r = await h.row(e.id);
    return r?.status === "failed" && r.attempts === 4 ? r : null;
  }, 10_000);
  expect(receiver.hits(e.id)).toBe(4);
  expect((await h.attempts(e.id)).map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
  expect(row.lastError).toContain("gave up after 4 attempts, 2 since the replay");
  const mine = await until(async () => {
    const found = (await dlq()).filter((d) => d.envelope?.id === e.id);
    return found.length === 1 ? found : null;
  }, 5_000);
  expect(mine[0]?.attempts).toBe(4);
});

test("a dead letter whose notification was sent since is stale and removed; limit stops early", async () => {
  down = true;
  const [x, y] = [hook("delta"), hook("delta")];
  for (const e of [x, y]) await h.publish(e);
  await until(async () => (await dlq()).filter((d) => d.envelope?.id === x.id || d.envelope?.id === y.id).length === 2, 10_000);
  // Sent some other way meanwhile (say, re-submitted and the row fixed by hand).
  await h.db.db.update(notifications).set({ status: "sent" }).where(eq(notifications.id, x.id));
  down = false;
  const report = await replayDeadLetters(h.nc, h.db.db, h.topo, { tenant: "delta", limit: 0 });
  expect(report).toMatchObject({ replayed: [], stale: 0 });
  const run = await replayDeadLetters(h.nc, h.db.db, h.topo, { tenant: "delta" });
  expect(run.stale).toBe(1);
  expect(run.replayed).toEqual([y.id]);
  expect((await dlq()).some((d) => d.envelope?.id === x.id || d.envelope?.id === y.id)).toBe(false);
  await until(async () => (await h.row(y.id))?.status === "sent", 10_000);
});
