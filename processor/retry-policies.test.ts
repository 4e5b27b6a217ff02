import { afterAll, beforeAll, expect, test } from "bun:test";
import { eventually } from "../test/support/eventually.ts";
import { createHarness, envelope, testSenders, type Harness } from "../test/support/processor-harness.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../test/support/webhook-receiver.ts";
import { retryPolicies } from "./outcome.ts";

let h: Harness;
let receiver: WebhookReceiver;

beforeAll(async () => {
  h = await createHarness();
  receiver = startWebhookReceiver({ "/down": () => ({ status: 503 }) });
  // Three attempts for every channel but webhooks, which get five with a backoff of their own.
  await h.start(testSenders(), { maxAttempts: 3, retryPolicies: new Map([["webhook", { maxAttempts: 5, retryBaseMs: 5, retryMaxMs: 20 }]]) });
});
afterAll(async () => {
  await h.cleanup();
  await receiver.stop();
});

test("a channel's own policy replaces the global one's fields it sets, for that channel only", () => {
  const global = { maxAttempts: 8, retryBaseMs: 1000, retryMaxMs: 300_000 };
  const policies = retryPolicies(global, new Map([["sms", { maxAttempts: 4, retryBaseMs: 2000 }]]));
  expect(policies.sms).toEqual({ maxAttempts: 4, retryBaseMs: 2000, retryMaxMs: 300_000 });
  expect(policies.email).toEqual(global);
  expect(Object.keys(policies).sort()).toEqual(["email", "in_app", "push", "sms", "webhook"]);
});

test("a webhook with five attempts of its own fails after five, though the global budget is three", async () => {
  const e = envelope({ channel: "webhook", priority: "high", payload: { url: receiver.url("/down"), body: {} } });
  await h.publish(e);
  const row = await eventually(async () => ((await h.row(e.id))?.status === "failed" ? h.row(e.id) : null), { timeoutMs: 10_000 });
  expect(row?.attempts).toBe(5);
  expect(receiver.hits(e.id)).toBe(5);
  expect(row?.lastError).toContain("gave up after 5 attempts");
});
