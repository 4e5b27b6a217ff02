import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { deliveryAttempts, notifications } from "../schemas/tables.ts";
import { createTestDatabase, type TestDatabase } from "../test/support/services.ts";
import { claim, markProcessing, readStates, writeOutcomes, type OutcomeRecord } from "./store.ts";
import { envelope } from "./test-harness.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

const outcome = (id: string, over: Partial<OutcomeRecord> = {}): OutcomeRecord => ({
  id,
  attempt: 1,
  provider: "sink",
  outcome: "sent",
  latencyMs: 3,
  status: "sent",
  error: null,
  providerMessageId: null,
  ...over,
});

describe("store", () => {
  test("claim inserts due rows processing and future ones scheduled, returns every state, and reports only the new ones as first seen", async () => {
    const a = envelope({ metadata: { orderId: "o-1" }, idempotencyKey: "claim-a" });
    const later = envelope({ scheduledFor: new Date(Date.now() + 60_000).toISOString() });
    const first = await claim(db.db, [a, later], Date.now());
    expect([...first.firstSeen].sort()).toEqual([a.id, later.id].sort());
    expect(first.rows.get(a.id)).toEqual({ status: "processing", attempts: 0, lastError: null });
    expect(first.rows.get(later.id)?.status).toBe("scheduled");
    const [row] = await db.db.select().from(notifications).where(eq(notifications.id, a.id));
    expect(row).toMatchObject({ tenantId: a.tenantId, userId: a.userId, channel: a.channel, payload: a.payload, metadata: { orderId: "o-1" }, idempotencyKey: "claim-a" });
    expect(row?.createdAt.toISOString()).toBe(a.acceptedAt);

    const b = envelope();
    const again = await claim(db.db, [a, b], Date.now());
    expect([...again.firstSeen]).toEqual([b.id]);
    expect(again.rows.get(a.id)?.status).toBe("processing");
  });

  test("claim leaves no row and no state for a second id with a taken idempotency key", async () => {
    const owner = envelope({ idempotencyKey: "claim-k" });
    await claim(db.db, [owner], Date.now());
    const other = envelope({ idempotencyKey: "claim-k" });
    const result = await claim(db.db, [other], Date.now());
    expect(result.firstSeen.size).toBe(0);
    expect(result.rows.has(other.id)).toBe(false);
  });

  test("markProcessing marks retrying rows and leaves terminal rows alone", async () => {
    const open = envelope();
    const done = envelope();
    await claim(db.db, [open, done], Date.now());
    await writeOutcomes(db.db, [outcome(open.id, { outcome: "retryable_error", status: "retrying", error: "HTTP 503" }), outcome(done.id)]);
    const marked = await markProcessing(db.db, [open.id, done.id]);
    expect([...marked]).toEqual([open.id]);
    const states = await readStates(db.db, [open.id, done.id]);
    expect(states.get(open.id)?.status).toBe("processing");
    expect(states.get(done.id)?.status).toBe("sent");
  });

  test("markProcessing leaves out a row cancelled after it was read, so the batch does not send it; a stuck processing row is taken again", async () => {
    const cancelled = envelope();
    const stuck = envelope();
    await claim(db.db, [cancelled, stuck], Date.now());
    await writeOutcomes(db.db, [outcome(cancelled.id, { outcome: "retryable_error", status: "retrying", error: "HTTP 503" })]);
    // Read as retrying by the batch, then cancelled through the API before the batch marks it.
    expect((await readStates(db.db, [cancelled.id])).get(cancelled.id)?.status).toBe("retrying");
    await db.db.update(notifications).set({ status: "cancelled" }).where(eq(notifications.id, cancelled.id));
    const marked = await markProcessing(db.db, [cancelled.id, stuck.id]);
    expect([...marked]).toEqual([stuck.id]);
    expect((await readStates(db.db, [cancelled.id])).get(cancelled.id)?.status).toBe("cancelled");
  });

  test("writeOutcomes records attempts and statuses in one go; a replay changes nothing", async () => {
    const flaky = envelope();
    const bad = envelope();
    await claim(db.db, [flaky, bad], Date.now());
    await writeOutcomes(db.db, [
      outcome(flaky.id, { outcome: "retryable_error", status: "retrying", error: "HTTP 503" }),
      outcome(bad.id, { outcome: "permanent_error", status: "failed", error: "HTTP 400" }),
    ]);
    const sent = outcome(flaky.id, { attempt: 2, providerMessageId: "SM0123" });
    await writeOutcomes(db.db, [sent]);
    await writeOutcomes(db.db, [sent]);
    const [row] = await db.db.select().from(notifications).where(eq(notifications.id, flaky.id));
    expect(row).toMatchObject({ status: "sent", attempts: 2, lastError: "HTTP 503" });
    expect(row?.sentAt).toBeInstanceOf(Date);
    const attempts = await db.db.select().from(deliveryAttempts).where(eq(deliveryAttempts.notificationId, flaky.id)).orderBy(deliveryAttempts.attempt);
    expect(attempts.map((a) => [a.attempt, a.outcome, a.error, a.providerMessageId])).toEqual([
      [1, "retryable_error", "HTTP 503", null],
      [2, "sent", null, "SM0123"],
    ]);
    expect((await readStates(db.db, [bad.id])).get(bad.id)).toEqual({ status: "failed", attempts: 1, lastError: "HTTP 400" });
  });
});
