import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createNotificationCanceller } from "../lib/db/canceller.ts";
import { schedules } from "../schemas/tables.ts";
import { createSinkRecorder } from "./channels/index.ts";
import { eventually } from "../test/support/eventually.ts";
import { createHarness, envelope, testSenders, type Harness } from "../test/support/processor-harness.ts";

// Scheduled notifications wait in Postgres, not as nak-delayed messages, so they hold no lane capacity for any horizon.

const MAX_ACK_PENDING = 50;
let h: Harness;
const sink = createSinkRecorder(10_000);
const senders = () => testSenders(sink);
const sends = (id: string) => sink.entries().filter((s) => s.id === id).length;

beforeAll(async () => {
  h = await createHarness({ maxAckPending: MAX_ACK_PENDING });
});
afterAll(async () => {
  await h.cleanup();
});

const sentAt = async (id: string) => (await h.row(id))?.sentAt?.getTime() ?? null;

describe("the scheduler", () => {
  test("notifications scheduled ahead hold no lane capacity: six times max_ack_pending wait while the due ones go straight through", async () => {
    const p = await h.start(senders());
    const ahead = new Date(Date.now() + 60 * 60_000).toISOString();
    const inAYear = new Date(Date.now() + 360 * 86_400_000).toISOString();
    const waiting = Array.from({ length: 6 * MAX_ACK_PENDING }, (_, i) => envelope({ scheduledFor: i % 2 === 0 ? ahead : inAYear }));
    await Promise.all(waiting.map((e) => h.publish(e)));
    await eventually(async () => (await h.db.db.$count(schedules)) === waiting.length, { timeoutMs: 10_000 });
    await eventually(() => h.laneIdle(), { label: "an idle lane" });
    const due = Array.from({ length: 20 }, () => envelope());
    const started = Date.now();
    await Promise.all(due.map((e) => h.publish(e)));
    await eventually(async () => due.every((e) => sends(e.id) === 1));
    expect(Date.now() - started).toBeLessThan(2000);
    for (const e of waiting.slice(0, 5)) expect((await h.row(e.id))?.status).toBe("scheduled");
    await p.stop();
  });

  test("two processors release each due notification once, within two seconds of its time", async () => {
    const [a, b] = [await h.start(senders()), await h.start(senders())];
    const dueAt = Date.now() + 2000;
    const batch = Array.from({ length: 200 }, () => envelope({ scheduledFor: new Date(dueAt).toISOString() }));
    try {
      await Promise.all(batch.map((e) => h.publish(e)));
      await eventually(async () => batch.every((e) => sends(e.id) >= 1), { timeoutMs: 10_000 });
      await Bun.sleep(500);
    } finally {
      // Stopped before any assertion, so a failure here cannot leave them sending into the next test.
      await Promise.all([a.stop(), b.stop()]);
    }
    for (const e of batch) expect(sends(e.id)).toBe(1);
    const late = await Promise.all(batch.map(async (e) => ((await sentAt(e.id)) ?? Number.POSITIVE_INFINITY) - dueAt));
    expect(Math.min(...late)).toBeGreaterThanOrEqual(0);
    // Polls every 200 ms; the rest is slack for a loaded CI box.
    expect(Math.max(...late)).toBeLessThan(2000);
  });

  test("a notification that came due while no processor ran is sent once when one starts", async () => {
    const p = await h.start(senders());
    const e = envelope({ scheduledFor: new Date(Date.now() + 2500).toISOString() });
    await h.publish(e);
    await eventually(async () => (await h.row(e.id))?.status === "scheduled");
    await p.stop();
    await Bun.sleep(3000);
    expect(sends(e.id)).toBe(0);
    const again = await h.start(senders());
    await eventually(async () => sends(e.id) === 1);
    await Bun.sleep(300);
    expect(sends(e.id)).toBe(1);
    await again.stop();
  });

  test("a cancelled scheduled notification is never sent, and its entry goes when it would have come due", async () => {
    const p = await h.start(senders());
    const e = envelope({ scheduledFor: new Date(Date.now() + 1000).toISOString() });
    await h.publish(e);
    await eventually(async () => (await h.row(e.id))?.status === "scheduled");
    const result = await createNotificationCanceller(h.db.db).cancel(e.tenantId, e.id, async () => null);
    expect(result.kind).toBe("cancelled");
    await eventually(async () => (await h.db.db.$count(schedules)) === 6 * MAX_ACK_PENDING, { timeoutMs: 5_000 });
    expect(sends(e.id)).toBe(0);
    expect((await h.row(e.id))?.status).toBe("cancelled");
    await p.stop();
  });
});
