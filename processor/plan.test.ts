import { describe, expect, test } from "bun:test";
import { createLimiter } from "./limiter.ts";
import { plan, SCHEDULE_STEP_MS } from "./plan.ts";
import { envelope } from "./test-harness.ts";

const now = Date.parse("2030-01-01T00:00:00Z");
const row = (status: "accepted" | "sent" | "failed" | "retrying" | "cancelled", attempts = 0) => ({ status, attempts, lastError: null });

describe("plan", () => {
  test("skips a message whose idempotency key belongs to another id (no row)", () => {
    expect(plan(envelope(), undefined, now)).toEqual({ kind: "collision" });
  });

  test("never sends a sent or cancelled notification again", () => {
    expect(plan(envelope(), row("sent", 1), now)).toEqual({ kind: "done" });
    expect(plan(envelope(), row("cancelled"), now)).toEqual({ kind: "done" });
  });

  test("re-dead-letters a failed one instead of sending it", () => {
    expect(plan(envelope(), row("failed", 3), now).kind).toBe("dead");
  });

  test("waits until scheduledFor, in steps of at most SCHEDULE_STEP_MS", () => {
    expect(plan(envelope({ scheduledFor: new Date(now + 1500).toISOString() }), row("accepted"), now)).toEqual({ kind: "wait", delayMs: 1500 });
    expect(plan(envelope({ scheduledFor: new Date(now + 86_400_000).toISOString() }), row("accepted"), now)).toEqual({ kind: "wait", delayMs: SCHEDULE_STEP_MS });
  });

  test("sends a due one as attempt attempts+1", () => {
    expect(plan(envelope(), row("retrying", 2), now)).toEqual({ kind: "send", attempt: 3 });
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
