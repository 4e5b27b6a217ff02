import { describe, expect, test } from "bun:test";
import { createLimiter } from "./limiter.ts";
import { plan } from "./plan.ts";
import { envelope } from "../test/support/processor-harness.ts";

const now = Date.parse("2030-01-01T00:00:00Z");
type S = "accepted" | "scheduled" | "processing" | "sent" | "failed" | "retrying" | "cancelled";
const row = (status: S, attempts = 0, requestHash: string | null = null) => ({
  status,
  attempts,
  lastError: null,
  requestHash,
  createdAt: "2026-12-07T10:00:00.000000Z",
  updatedAt: "2026-12-07T10:00:01.000000Z",
});
const again = (deliveries = 2) => ({ firstSeen: false, deliveries, stallLimit: 10, waitUntilMs: null, suppressed: null });
const fresh = { firstSeen: true, deliveries: 1, stallLimit: 10, waitUntilMs: null, suppressed: null };

describe("plan", () => {
  test("reports a message with no row rather than sending it", () => {
    expect(plan(envelope(), undefined, now, again())).toEqual({ kind: "missing" });
  });

  test("reports a second request under the key with another body as a conflict, never sending it", () => {
    const e = envelope({ idempotencyKey: "k", requestHash: "b".repeat(64) });
    expect(plan(e, row("processing", 1, "a".repeat(64)), now, again()).kind).toBe("conflict");
    expect(plan(e, row("retrying", 1, "b".repeat(64)), now, again()).kind).toBe("send");
  });

  test("never sends a sent or cancelled notification again", () => {
    expect(plan(envelope(), row("sent", 1), now, again())).toEqual({ kind: "done" });
    expect(plan(envelope(), row("cancelled"), now, again())).toEqual({ kind: "done" });
  });

  test("re-dead-letters a failed one instead of sending it", () => {
    expect(plan(envelope(), row("failed", 3), now, again()).kind).toBe("dead");
  });

  test("hands a future one to the scheduler, for any horizon, instead of holding it in the lane", () => {
    const soon = new Date(now + 1500).toISOString();
    const inAYear = new Date(now + 365 * 86_400_000).toISOString();
    expect(plan(envelope({ scheduledFor: soon }), row("scheduled"), now, fresh)).toEqual({ kind: "schedule", dueAt: soon });
    expect(plan(envelope({ scheduledFor: inAYear }), row("scheduled"), now, again())).toEqual({ kind: "schedule", dueAt: inAYear });
  });

  test("sends a released or due scheduled one, whatever its scheduledFor says", () => {
    const late = new Date(now + 500).toISOString();
    expect(plan(envelope({ scheduledFor: late }), row("accepted"), now, again(1))).toEqual({ kind: "send", attempt: 1, begun: false, interrupted: null });
    expect(plan(envelope({ scheduledFor: new Date(now - 1).toISOString() }), row("scheduled"), now, again(1)).kind).toBe("send");
  });

  test("sends a first-seen due one as the attempt its claim began", () => {
    expect(plan(envelope(), row("processing", 1), now, fresh)).toEqual({ kind: "send", attempt: 1, begun: true, interrupted: null });
  });

  test("sends a retry as attempt attempts+1", () => {
    expect(plan(envelope(), row("retrying", 2), now, again(3))).toEqual({ kind: "send", attempt: 3, begun: false, interrupted: null });
  });

  test("reports an attempt a crash cut short as interrupted and makes the next", () => {
    expect(plan(envelope(), row("processing", 2), now, again(3))).toEqual({ kind: "send", attempt: 3, begun: false, interrupted: 2 });
  });

  test("waits, beginning no attempt, when every provider of its channel is open", () => {
    const until = now + 30_000;
    const dueAt = new Date(until).toISOString();
    expect(plan(envelope(), row("accepted", 0), now, { ...fresh, waitUntilMs: until })).toEqual({ kind: "wait", dueAt });
    expect(plan(envelope(), row("retrying", 2), now, { ...again(3), waitUntilMs: until })).toEqual({ kind: "wait", dueAt });
    // Sent rows stay done, whatever the providers.
    expect(plan(envelope(), row("sent", 1), now, { ...again(2), waitUntilMs: until })).toEqual({ kind: "done" });
  });

  test("never sends to a suppressed address, taking back an attempt its claim began", () => {
    const suppressed = "the email address is suppressed for this tenant (bounce: resend Permanent)";
    expect(plan(envelope(), row("processing", 1), now, { ...fresh, suppressed })).toEqual({ kind: "suppress", reason: suppressed, unbegin: true });
    expect(plan(envelope(), row("retrying", 2), now, { ...again(3), suppressed })).toEqual({ kind: "suppress", reason: suppressed, unbegin: false });
    // Suppression wins over waiting for a provider: nothing will be sent anyway.
    expect(plan(envelope(), row("retrying", 2), now, { ...again(3), suppressed, waitUntilMs: now + 1000 }).kind).toBe("suppress");
  });

  test("gives up a message delivered more than the stall limit without a new attempt", () => {
    expect(plan(envelope(), row("processing", 1), now, again(11)).kind).toBe("send");
    expect(plan(envelope(), row("processing", 1), now, again(12)).kind).toBe("stalled");
    expect(plan(envelope(), row("retrying", 5), now, again(15)).kind).toBe("send");
    // A replayed notification's progress counts from its replay.
    expect(plan(envelope({ attemptBase: 8 }), row("retrying", 8), now, again(11)).kind).toBe("stalled");
  });
});

describe("createLimiter", () => {
  test("bounds concurrency and lets a higher lane jump the queue", async () => {
    const limiter = createLimiter(2);
    const order: string[] = [];
    let active = 0;
    let peak = 0;
    const job = (name: string) => async () => {
      active += 1;
      peak = Math.max(peak, active);
      await Bun.sleep(10);
      order.push(name);
      active -= 1;
    };
    const low = Array.from({ length: 6 }, (_, i) => limiter.run("low", job(`low${i}`)));
    const urgent = limiter.run("urgent", job("urgent"));
    await Promise.all([...low, urgent]);
    expect(peak).toBe(2);
    expect(order.indexOf("urgent")).toBeLessThanOrEqual(3);
  });
});
