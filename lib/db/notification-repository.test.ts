import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { deliveryAttempts, notifications } from "../../schemas/tables.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import { isRefusedData } from "./durable.ts";
import { beginAttempts, claim, markFailed, readStates, writeOutcomes, type OutcomeRecord } from "./notification-repository.ts";
import { envelope } from "../../test/support/processor-harness.ts";

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
    const first = await claim(db.sql, [a, later], Date.now());
    expect([...first.firstSeen].sort()).toEqual([a.id, later.id].sort());
    expect(first.rows.get(a.id)).toEqual({ status: "processing", attempts: 1, lastError: null, requestHash: null });
    expect(first.rows.get(later.id)?.attempts).toBe(0);
    expect(first.rows.get(later.id)?.status).toBe("scheduled");
    const [row] = await db.db.select().from(notifications).where(eq(notifications.id, a.id));
    expect(row).toMatchObject({
      tenantId: a.tenantId,
      userId: a.userId,
      channel: a.channel,
      payload: a.payload,
      metadata: { orderId: "o-1" },
      idempotencyKey: "claim-a",
    });
    expect(row?.createdAt.toISOString()).toBe(a.acceptedAt);

    const b = envelope();
    const again = await claim(db.sql, [a, b], Date.now());
    expect([...again.firstSeen]).toEqual([b.id]);
    expect(again.rows.get(a.id)?.status).toBe("processing");
  });

  test("claim refuses a second id with a taken idempotency key out loud, as data Postgres refuses, and stores nothing of it", async () => {
    const owner = envelope({ idempotencyKey: "claim-k" });
    await claim(db.sql, [owner], Date.now());
    const other = envelope({ idempotencyKey: "claim-k" });
    const err = await claim(db.sql, [other], Date.now()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isRefusedData(err)).toBe(true);
    expect((await readStates(db.sql, [other.id])).has(other.id)).toBe(false);
  });

  test("claim refuses a batch holding text Postgres cannot store, as data Postgres refuses", async () => {
    const poison = envelope({ payload: { title: "t", body: "a\u0000b" } });
    const err = await claim(db.sql, [envelope(), poison], Date.now()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isRefusedData(err)).toBe(true);
  });

  test("markFailed ends an existing row failed, makes a storable row for one Postgres refused, and leaves terminal rows alone", async () => {
    const open = envelope();
    const sent = envelope();
    await claim(db.sql, [open, sent], Date.now());
    await writeOutcomes(db.sql, [outcome(sent.id)]);
    const refused = envelope({ userId: "u\u0000x", payload: { s: "\u0000" }, idempotencyKey: "claim-k" });
    await markFailed(db.sql, [
      { envelope: open, error: "stalled" },
      { envelope: sent, error: "stalled" },
      { envelope: refused, error: "could not be stored: \u0000" },
    ]);
    const states = await readStates(db.sql, [open.id, sent.id, refused.id]);
    expect(states.get(open.id)).toMatchObject({ status: "failed", lastError: "stalled" });
    expect(states.get(sent.id)?.status).toBe("sent");
    expect(states.get(refused.id)).toMatchObject({ status: "failed", lastError: "could not be stored: \uFFFD" });
    const [row] = await db.db.select().from(notifications).where(eq(notifications.id, refused.id));
    expect(row).toMatchObject({ userId: "u\uFFFDx", payload: {}, idempotencyKey: null });
  });

  test("beginAttempts counts the attempt before the send and leaves terminal rows alone", async () => {
    const open = envelope();
    const done = envelope();
    await claim(db.sql, [open, done], Date.now());
    await writeOutcomes(db.sql, [outcome(open.id, { outcome: "retryable_error", status: "retrying", error: "HTTP 503" }), outcome(done.id)]);
    const begun = await beginAttempts(db.sql, [
      { id: open.id, attempt: 2 },
      { id: done.id, attempt: 2 },
    ]);
    expect([...begun]).toEqual([open.id]);
    const states = await readStates(db.sql, [open.id, done.id]);
    expect(states.get(open.id)).toMatchObject({ status: "processing", attempts: 2 });
    expect(states.get(done.id)?.status).toBe("sent");
  });

  test("beginAttempts leaves out a row cancelled after it was read, and of two consumers that read the same attempt count only one begins", async () => {
    const cancelled = envelope();
    const stuck = envelope();
    await claim(db.sql, [cancelled, stuck], Date.now());
    await writeOutcomes(db.sql, [outcome(cancelled.id, { outcome: "retryable_error", status: "retrying", error: "HTTP 503" })]);
    // Read as retrying by the batch, then cancelled through the API before the batch begins it.
    expect((await readStates(db.sql, [cancelled.id])).get(cancelled.id)?.status).toBe("retrying");
    await db.db.update(notifications).set({ status: "cancelled" }).where(eq(notifications.id, cancelled.id));
    // A stuck processing row (its attempt 1 cut short) is begun again as attempt 2, once.
    const [first, second] = await Promise.all([
      beginAttempts(db.sql, [
        { id: cancelled.id, attempt: 2 },
        { id: stuck.id, attempt: 2 },
      ]),
      beginAttempts(db.sql, [{ id: stuck.id, attempt: 2 }]),
    ]);
    expect(first.size + second.size).toBe(1);
    expect(first.has(cancelled.id)).toBe(false);
    expect((await readStates(db.sql, [cancelled.id])).get(cancelled.id)?.status).toBe("cancelled");
  });

  test("writeOutcomes records an interrupted attempt beside the next one, and stores provider text Postgres would refuse", async () => {
    const e = envelope();
    await claim(db.sql, [e], Date.now());
    await writeOutcomes(db.sql, [
      outcome(e.id, { attempt: 2, outcome: "retryable_error", status: "retrying", error: "bad \u0000 answer \ud800", interrupted: 1 }),
    ]);
    const attempts = await db.db.select().from(deliveryAttempts).where(eq(deliveryAttempts.notificationId, e.id)).orderBy(deliveryAttempts.attempt);
    expect(attempts.map((a) => [a.attempt, a.outcome, a.error])).toEqual([
      [1, "interrupted", "the processor stopped before this attempt finished"],
      [2, "retryable_error", "bad \uFFFD answer \uFFFD"],
    ]);
  });

  test("writeOutcomes records attempts and statuses in one go; a replay changes nothing", async () => {
    const flaky = envelope();
    const bad = envelope();
    await claim(db.sql, [flaky, bad], Date.now());
    await writeOutcomes(db.sql, [
      outcome(flaky.id, { outcome: "retryable_error", status: "retrying", error: "HTTP 503" }),
      outcome(bad.id, { outcome: "permanent_error", status: "failed", error: "HTTP 400" }),
    ]);
    const sent = outcome(flaky.id, { attempt: 2, providerMessageId: "SM0123" });
    await writeOutcomes(db.sql, [sent]);
    await writeOutcomes(db.sql, [sent]);
    const [row] = await db.db.select().from(notifications).where(eq(notifications.id, flaky.id));
    expect(row).toMatchObject({ status: "sent", attempts: 2, lastError: "HTTP 503" });
    expect(row?.sentAt).toBeInstanceOf(Date);
    const attempts = await db.db.select().from(deliveryAttempts).where(eq(deliveryAttempts.notificationId, flaky.id)).orderBy(deliveryAttempts.attempt);
    expect(attempts.map((a) => [a.attempt, a.outcome, a.error, a.providerMessageId])).toEqual([
      [1, "retryable_error", "HTTP 503", null],
      [2, "sent", null, "SM0123"],
    ]);
    expect((await readStates(db.sql, [bad.id])).get(bad.id)).toEqual({ status: "failed", attempts: 1, lastError: "HTTP 400", requestHash: null });
  });
});
