import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { RetryableError } from "./channels/errors.ts";
import type { Sender } from "./channels/types.ts";
import { NOOP_METRICS, type MetricsRecorder } from "../lib/telemetry/recorder.ts";
import { eventually } from "../test/support/eventually.ts";
import { createHarness, envelope, testSenders, type Harness } from "../test/support/processor-harness.ts";

// Failover through the lanes, on the real NATS and Postgres: which provider each
// attempt names, and that an outage of every provider burns no attempts.

/** An email provider the test switches down and up, recording when it was called. */
function switchable(provider: string) {
  const calls: number[] = [];
  const s = {
    provider,
    down: true,
    calls,
    async send() {
      calls.push(Date.now());
      if (s.down) throw new RetryableError("HTTP 503");
      return { providerMessageId: `${provider}-${calls.length}` };
    },
  };
  return s;
}

const email = () => envelope({ channel: "email", priority: "high", payload: { to: "a@example.com", subject: "Hi", body: "Hello" } });

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.cleanup();
});

const rowOf = (id: string) => h.row(id);
const sentRow = (id: string) => eventually(async () => ((await rowOf(id))?.status === "sent" ? rowOf(id) : null), { label: `${id} sent`, timeoutMs: 10_000 });
const providersOf = async (id: string) => (await h.attempts(id)).map((a) => `${a.provider}:${a.outcome}`);

describe("failover in the lanes", () => {
  test("fails over when the primary's breaker opens, and goes back to it once a trial succeeds", async () => {
    const primary = switchable("resend");
    const base = testSenders();
    const secondary: Sender = base.email;
    await h.start({ ...base, email: [primary, secondary] }, { breaker: { failures: 3, halfOpenMs: 400 }, retryBaseMs: 20, retryMaxMs: 40 });

    const during = Array.from({ length: 6 }, email);
    for (const e of during) await h.publish(e);
    for (const e of during) await sentRow(e.id);
    // Three failures opened the breaker; everything ends on the secondary.
    expect(primary.calls.length).toBeGreaterThanOrEqual(3);
    for (const e of during) expect((await providersOf(e.id)).at(-1)).toBe("sink:sent");

    primary.down = false;
    await Bun.sleep(450);
    const after = Array.from({ length: 4 }, email);
    for (const e of after) {
      await h.publish(e);
      await sentRow(e.id);
    }
    // The first of these was the trial, and closed the breaker: all four went to the primary.
    for (const e of after) expect(await providersOf(e.id)).toEqual(["resend:sent"]);
  });

  test("with every provider open, messages wait in the scheduler: no attempt begun, no tight loop, sent once one recovers", async () => {
    const only = switchable("smtp");
    const waits: string[] = [];
    const metrics: MetricsRecorder = { ...NOOP_METRICS, providerWait: (channel) => waits.push(channel) };
    const halfOpenMs = 1500;
    await h.start({ ...testSenders(), email: [only] }, { breaker: { failures: 2, halfOpenMs }, maxAttempts: 3, retryBaseMs: 20, retryMaxMs: 40 }, metrics);

    // Two failures open the breaker.
    const opening = [email(), email()];
    for (const e of opening) await h.publish(e);
    await eventually(async () => (only.calls.length >= 2 ? true : null), { label: "two failed calls" });
    const openedAt = only.calls[1] ?? Date.now();

    const waiting = Array.from({ length: 20 }, email);
    for (const e of waiting) await h.publish(e);
    await eventually(async () => (waits.length >= 22 ? true : null), { label: "every message deferred" });
    // While open: not one call, and the rows have no attempt begun or burnt.
    await Bun.sleep(300);
    const duringOpen = only.calls.filter((t) => t > openedAt + 5 && t < openedAt + halfOpenMs - 50);
    expect(duringOpen).toEqual([]);
    for (const e of waiting) expect(await rowOf(e.id)).toMatchObject({ status: "accepted", attempts: 0 });
    // The two failed calls are the only attempts made (one message may have made both, the other then waits).
    const openingAttempts = await Promise.all(opening.map(async (e) => (await rowOf(e.id))?.attempts ?? 0));
    expect(openingAttempts.reduce((a, b) => a + b, 0)).toBe(2);
    // Each message was deferred about once per pause, not in a loop.
    expect(waits.length).toBeLessThan(3 * 22);

    only.down = false;
    for (const e of [...opening, ...waiting]) await sentRow(e.id);
    // No message used more than the attempt it failed plus the one that sent it.
    for (const e of waiting) expect(await providersOf(e.id)).toEqual(["smtp:sent"]);
    const openingTries = (await Promise.all(opening.map((e) => providersOf(e.id)))).flat();
    expect(openingTries.filter((t) => t === "smtp:retryable_error")).toHaveLength(2);
    expect(openingTries.filter((t) => t === "smtp:sent")).toHaveLength(2);
    // Nothing was sent before the pause was over.
    expect(only.calls.filter((t) => t > openedAt + 5).every((t) => t >= openedAt + halfOpenMs - 50)).toBe(true);
  });

  test("a call picked while the breaker was closed but refused once it opened hands its attempt back instead of burning it", async () => {
    const only = switchable("smtp");
    // One slot: the batch's calls go one by one, so the first failure opens the breaker under the others.
    await h.start({ ...testSenders(), email: [only] }, { breaker: { failures: 1, halfOpenMs: 800 }, channelConcurrency: 1, retryBaseMs: 20, retryMaxMs: 40 });
    const batch = Array.from({ length: 5 }, email);
    await Promise.all(batch.map((e) => h.publish(e)));
    await eventually(async () => (only.calls.length >= 1 ? true : null), { label: "the failing call" });
    await Bun.sleep(200);
    expect(only.calls).toHaveLength(1);
    const rows = await Promise.all(batch.map((e) => rowOf(e.id)));
    // The one that was called used its attempt; the others are back where they were, waiting.
    expect(rows.map((r) => r?.attempts ?? -1).sort()).toEqual([0, 0, 0, 0, 1]);
    only.down = false;
    for (const e of batch) await sentRow(e.id);
    const tries = await Promise.all(batch.map((e) => providersOf(e.id)));
    expect(tries.filter((t) => t.length === 1).every((t) => t[0] === "smtp:sent")).toBe(true);
    expect(tries.flat().filter((t) => t === "smtp:retryable_error")).toHaveLength(1);
  });
});
