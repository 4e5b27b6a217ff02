import { describe, expect, test } from "bun:test";
import { backoffDelay } from "./backoff.ts";
import { decide } from "./outcome.ts";

const policy = { retryBaseMs: 100, retryMaxMs: 1000, maxAttempts: 3 };

describe("backoffDelay", () => {
  test("draws from [0, base·2^(attempt−1)] (full jitter)", () => {
    expect(backoffDelay(1, policy, undefined, () => 0)).toBe(0);
    expect(backoffDelay(1, policy, undefined, () => 0.999999)).toBe(99);
    expect(backoffDelay(3, policy, undefined, () => 0.5)).toBe(200);
    for (let i = 0; i < 1000; i++) {
      const d = backoffDelay(2, policy);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(200);
    }
  });

  test("never exceeds retryMaxMs, even for huge attempt numbers", () => {
    expect(backoffDelay(10, policy, undefined, () => 0.999999)).toBe(999);
    expect(backoffDelay(5000, policy, undefined, () => 0.999999)).toBe(999);
  });

  test("waits at least the provider's retryAfter", () => {
    expect(backoffDelay(1, policy, 5000, () => 0.5)).toBe(5000);
    expect(backoffDelay(4, policy, 10, () => 0.5)).toBe(400);
  });
});

describe("decide", () => {
  test("acks a sent notification", () => {
    expect(decide({ kind: "sent" }, 1, policy)).toEqual({ action: "ack", status: "sent" });
  });

  test("naks with backoff when a retryable failure has attempts left", () => {
    expect(decide({ kind: "retryable", error: "HTTP 503", retryAfterMs: 700 }, 2, policy, () => 0)).toEqual({
      action: "nak",
      status: "retrying",
      delayMs: 700,
      error: "HTTP 503",
    });
  });

  test("terms a retryable failure on the last attempt", () => {
    const d = decide({ kind: "retryable", error: "HTTP 503" }, 3, policy);
    expect(d.action).toBe("term");
    expect(d.status).toBe("failed");
  });

  test("counts the budget and the backoff from a replay's base, naming both counts when it gives up", () => {
    // Attempts 1-3 before the replay (base 3): attempt 5 is the budget's second, so it retries with the second delay.
    const retried = decide({ kind: "retryable", error: "HTTP 503" }, 5, policy, () => 1, 3);
    const fresh = decide({ kind: "retryable", error: "HTTP 503" }, 2, policy, () => 1);
    expect(retried).toEqual(fresh);
    const last = decide({ kind: "retryable", error: "HTTP 503" }, 6, policy, () => 1, 3);
    expect(last).toEqual({ action: "term", status: "failed", error: "HTTP 503 (gave up after 6 attempts, 3 since the replay)" });
  });

  test("terms a permanent failure at once", () => {
    expect(decide({ kind: "permanent", error: "HTTP 400" }, 1, policy)).toEqual({ action: "term", status: "failed", error: "HTTP 400" });
  });
});
