import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { deliveryAttempts, notifications } from "../../schemas/tables.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import { isRefusedData } from "./durable.ts";
import { beginAttempts, claim, insertCancelled, markFailed, readStates, writeOutcomes, type OutcomeRecord } from "./notification-repository.ts";
import { envelope } from "../../test/support/processor-harness.ts";
import type { Envelope } from "../../schemas/envelope.ts";

/** An ISO time as `RowState.createdAt` writes it, with microseconds. */
const exactly = (iso: string) => iso.replace("Z", "000Z");

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** How many rows hold the id, across every partition. */
async function rowsWithId(id: string): Promise<number> {
  return (await db.db.select({ id: notifications.id }).from(notifications).where(eq(notifications.id, id))).length;
}

const outcome = (e: Envelope, over: Partial<OutcomeRecord> = {}): OutcomeRecord => ({
  id: e.id,
  createdAt: e.acceptedAt,
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
    expect(first.rows.get(a.id)).toMatchObject({ status: "processing", attempts: 1, lastError: null, requestHash: null, createdAt: exactly(a.acceptedAt) });
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

  test("a keyed id claimed again with another acceptedAt, in another month, makes no second row and reads the first", async () => {
    const first = envelope({ idempotencyKey: "month-k" });
    await claim(db.sql, [first], Date.now());
    // The key retried after the idempotency store and the stream's window forgot it: same id, a new acceptedAt.
    const retry = { ...first, acceptedAt: new Date(Date.now() - 40 * 86_400_000).toISOString() };
    const again = await claim(db.sql, [retry], Date.now());
    expect([...again.firstSeen]).toEqual([]);
    expect(again.rows.get(first.id)).toMatchObject({ status: "processing", createdAt: exactly(first.acceptedAt) });
    expect(await rowsWithId(first.id)).toBe(1);
  });

  test("of two claims of one keyed id with different acceptedAt at once, one makes the row and the other reads it", async () => {
    const firsts = Array.from({ length: 20 }, (_, i) => envelope({ idempotencyKey: `race-${i}` }));
    const seconds = firsts.map((e) => ({ ...e, acceptedAt: new Date(Date.parse(e.acceptedAt) + 35 * 86_400_000).toISOString() }));
    const [a, b] = await Promise.all([claim(db.sql, firsts, Date.now()), claim(db.sql, seconds, Date.now())]);
    for (const e of firsts) {
      expect(await rowsWithId(e.id)).toBe(1);
      expect(Number(a.firstSeen.has(e.id)) + Number(b.firstSeen.has(e.id))).toBe(1);
      expect(a.rows.get(e.id)?.createdAt).toBe(b.rows.get(e.id)?.createdAt ?? "");
    }
  });

  test("a notification cancelled before the processor recorded it stays cancelled when its keyed message comes with another acceptedAt", async () => {
    const e = envelope({ idempotencyKey: "cancel-k" });
    const created = new Date(Date.parse(e.acceptedAt) - 35 * 86_400_000);
    const { userId, channel, type, priority, correlationId } = e;
    const tombstone = await insertCancelled(db.db, { id: e.id, tenantId: e.tenantId, userId, channel, type, priority, correlationId, createdAt: created });
    expect(tombstone?.status).toBe("cancelled");
    const claimed = await claim(db.sql, [e], Date.now());
    expect([...claimed.firstSeen]).toEqual([]);
    expect(claimed.rows.get(e.id)?.status).toBe("cancelled");
    expect(await rowsWithId(e.id)).toBe(1);
    // And the other way round: a second tombstone for a recorded row makes nothing.
    expect(
      await insertCancelled(db.db, { id: e.id, tenantId: e.tenantId, userId, channel, type, priority, correlationId, createdAt: new Date() }),
    ).toBeUndefined();
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
    await writeOutcomes(db.sql, [outcome(sent)]);
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
    await writeOutcomes(db.sql, [outcome(open, { outcome: "retryable_error", status: "retrying", error: "HTTP 503" }), outcome(done)]);
    const begun = await beginAttempts(db.sql, [
      { id: open.id, createdAt: open.acceptedAt, attempt: 2 },
      { id: done.id, createdAt: done.acceptedAt, attempt: 2 },
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
    await writeOutcomes(db.sql, [outcome(cancelled, { outcome: "retryable_error", status: "retrying", error: "HTTP 503" })]);
    // Read as retrying by the batch, then cancelled through the API before the batch begins it.
    expect((await readStates(db.sql, [cancelled.id])).get(cancelled.id)?.status).toBe("retrying");
    await db.db.update(notifications).set({ status: "cancelled" }).where(eq(notifications.id, cancelled.id));
    // A stuck processing row (its attempt 1 cut short) is begun again as attempt 2, once.
    const [first, second] = await Promise.all([
      beginAttempts(db.sql, [
        { id: cancelled.id, createdAt: cancelled.acceptedAt, attempt: 2 },
        { id: stuck.id, createdAt: stuck.acceptedAt, attempt: 2 },
      ]),
      beginAttempts(db.sql, [{ id: stuck.id, createdAt: stuck.acceptedAt, attempt: 2 }]),
    ]);
    expect(first.size + second.size).toBe(1);
    expect(first.has(cancelled.id)).toBe(false);
    expect((await readStates(db.sql, [cancelled.id])).get(cancelled.id)?.status).toBe("cancelled");
  });

  test("writeOutcomes records an interrupted attempt beside the next one, and stores provider text Postgres would refuse", async () => {
    const e = envelope();
    await claim(db.sql, [e], Date.now());
    await writeOutcomes(db.sql, [
      outcome(e, { attempt: 2, outcome: "retryable_error", status: "retrying", error: "bad \u0000 answer \ud800", interrupted: 1 }),
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
      outcome(flaky, { outcome: "retryable_error", status: "retrying", error: "HTTP 503" }),
      outcome(bad, { outcome: "permanent_error", status: "failed", error: "HTTP 400" }),
    ]);
    const sent = outcome(flaky, { attempt: 2, providerMessageId: "SM0123" });
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
    expect((await readStates(db.sql, [bad.id])).get(bad.id)).toMatchObject({
      status: "failed",
      attempts: 1,
      lastError: "HTTP 400",
      requestHash: null,
      createdAt: exactly(bad.acceptedAt),
    });
  });
});
