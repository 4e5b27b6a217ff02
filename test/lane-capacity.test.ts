import { afterAll, beforeAll, expect, test } from "bun:test";
import { count, inArray } from "drizzle-orm";
import { deliveryAttempts, notifications } from "../schemas/tables.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { eventually } from "./support/eventually.ts";
import { createStack, post, type Stack } from "./support/stack.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

// A lane holding as many messages as it may work at once must not pull more and leave
// them waiting for room: a pulled message has no keep-alive until a batch takes it, so
// its AckWait would run out and JetStream would deliver it again while the first copy
// is still to be sent, to the other processor — one notification sent twice. Sends
// here take 2.5 AckWaits; two processors share the lane.
const ACK_WAIT_MS = 1000;
const HOLD_MS = 2500;
let stack: Stack;
let gateway: HeraldProcess;
let processors: HeraldProcess[] = [];
let receiver: WebhookReceiver;

beforeAll(async () => {
  stack = await createStack({ HERALD_ACK_WAIT_MS: String(ACK_WAIT_MS), HERALD_BATCH_SIZE: "2", HERALD_WEBHOOK_TIMEOUT_MS: "20000" });
  receiver = startWebhookReceiver({ "/hook": () => ({ status: 200, holdMs: HOLD_MS }) });
  [gateway, ...processors] = await Promise.all([startHerald("gateway", stack.env), startHerald("processor", stack.env), startHerald("processor", stack.env)]);
});

afterAll(async () => {
  await Promise.all([gateway, ...processors].map((p) => p?.signal("SIGTERM")));
  await receiver?.stop();
  await stack?.cleanup();
});

test("sends slower than AckWait with both processors' lanes full: every notification is sent once, with one attempt", async () => {
  const res = await Promise.all(
    Array.from({ length: 48 }, (_, i) =>
      post(gateway.url, "/v1/notifications", { userId: "full-lane", channel: "webhook", payload: { url: receiver.url(), body: { i } } }),
    ),
  );
  expect(res.map((r) => r.status)).toEqual(Array(48).fill(202));
  const ids = await Promise.all(res.map(async (r) => ((await r.json()) as { id: string }).id));
  await eventually(
    async () => {
      const rows = await stack.db.db.select({ status: notifications.status }).from(notifications).where(inArray(notifications.id, ids));
      return rows.length === ids.length && rows.every((r) => r.status === "sent");
    },
    { timeoutMs: 60_000, everyMs: 200, label: "all 48 sent" },
  );
  await Bun.sleep(HOLD_MS + 500);
  const successes = receiver.successes();
  expect(ids.map((id) => successes.get(id) ?? 0)).toEqual(Array(ids.length).fill(1));
  const [attempts] = await stack.db.db.select({ n: count() }).from(deliveryAttempts).where(inArray(deliveryAttempts.notificationId, ids));
  expect(attempts?.n).toBe(ids.length);
}, 90_000);
