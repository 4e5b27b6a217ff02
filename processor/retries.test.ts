import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import type { Processor } from "./processor.ts";
import type { DeadLetterRecord as DlqRecord } from "../schemas/dead-letter.ts";
import { eventually } from "../test/support/eventually.ts";
import { createHarness, envelope, testSenders, type Harness } from "../test/support/processor-harness.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../test/support/webhook-receiver.ts";

// maxAttempts 3, retryBaseMs 20 (DEFAULT_OPTIONS): retries take tens of milliseconds.
let h: Harness;
let receiver: WebhookReceiver;
let processor: Processor;

beforeAll(async () => {
  h = await createHarness();
  receiver = startWebhookReceiver({
    "/flaky": (nth) => ({ status: nth <= 2 ? 503 : 200 }),
    "/bad": () => ({ status: 400 }),
    "/down": () => ({ status: 503 }),
    "/slow": () => ({ status: 200, holdMs: 700 }),
  });
  processor = await h.start(testSenders());
});
afterAll(async () => {
  await h.cleanup();
  await receiver.stop();
});

const hook = (path: string) => envelope({ channel: "webhook", priority: "high", payload: { url: receiver.url(path), body: { path } } });
const settledRow = (id: string, status: string) =>
  eventually(async () => ((await h.row(id))?.status === status ? h.row(id) : null), { label: `${id} ${status}` });

async function deadLetter(id: string): Promise<{ subject: string; record: DlqRecord }> {
  return eventually(
    async () => {
      const found = (await h.readStream(h.topo.streams.dlq)).find(
        (m) => (m.data as DlqRecord).reason === "failed" && (m.data as { envelope: { id: string } }).envelope.id === id,
      );
      return found ? { subject: found.subject, record: found.data as DlqRecord } : null;
    },
    { label: `the dead letter of ${id}` },
  );
}

describe("retries and dead letters", () => {
  test("503 twice then 200 → sent on attempt 3 with 3 attempt rows", async () => {
    const e = hook("/flaky");
    await h.publish(e);
    const row = await settledRow(e.id, "sent");
    expect(row?.attempts).toBe(3);
    expect(row?.lastError).toBe("HTTP 503");
    expect((await h.attempts(e.id)).map((a) => a.outcome)).toEqual(["retryable_error", "retryable_error", "sent"]);
    expect(receiver.hits(e.id)).toBe(3);
    const events = (await h.readStream(h.topo.streams.events)).map((m) => m.data as { id: string; type: string; attempt?: number });
    expect(events.filter((ev) => ev.id === e.id).map((ev) => [ev.type, ev.attempt])).toEqual([
      ["accepted", undefined],
      ["retrying", 1],
      ["retrying", 2],
      ["sent", 3],
    ]);
  });

  test("400 → failed after 1 attempt and dead-lettered", async () => {
    const e = hook("/bad");
    await h.publish(e);
    const row = await settledRow(e.id, "failed");
    expect(row?.attempts).toBe(1);
    expect((await h.attempts(e.id)).map((a) => a.outcome)).toEqual(["permanent_error"]);
    const dl = await deadLetter(e.id);
    expect(dl.subject).toBe(h.topo.dlqSubject("webhook"));
    expect(dl.record).toMatchObject({ reason: "failed", attempts: 1, error: "HTTP 400", envelope: e });
  });

  test("503 every time with maxAttempts 3 → failed after 3 and dead-lettered", async () => {
    const e = hook("/down");
    await h.publish(e);
    const row = await settledRow(e.id, "failed");
    expect(row?.attempts).toBe(3);
    expect(await h.attempts(e.id)).toHaveLength(3);
    expect(receiver.hits(e.id)).toBe(3);
    expect((await deadLetter(e.id)).record).toMatchObject({ attempts: 3 });
  });

  test("stop() lets in-flight webhooks finish, persists and acks them", async () => {
    const envs = Array.from({ length: 5 }, () => hook("/slow"));
    await Promise.all(envs.map((e) => h.publish(e)));
    await eventually(async () => receiver.inFlight() === 5, { label: "five webhooks held" });
    await processor.stop();
    for (const e of envs) expect((await h.row(e.id))?.status).toBe("sent");
    expect(receiver.inFlight()).toBe(0);
    const jsm = await jetstreamManager(h.nc);
    const lane = await jsm.consumers.info(h.topo.streams.work, h.topo.laneConsumer("high"));
    expect(lane.num_ack_pending).toBe(0);
    expect(lane.num_pending).toBe(0);
  });
});
