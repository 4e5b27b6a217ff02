import { afterAll, beforeAll, expect, test } from "bun:test";
import { count, eq, inArray } from "drizzle-orm";
import { deliveryAttempts, notifications } from "../schemas/tables.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { eventually } from "./support/eventually.ts";
import { createStack, post, type Stack } from "./support/stack.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

// A processor that dies mid-batch must lose nothing and send nothing twice.
let stack: Stack;
let gateway: HeraldProcess;
let receiver: WebhookReceiver;
let holdMs = 0;

beforeAll(async () => {
  stack = await createStack({ HERALD_ACK_WAIT_MS: "2000", HERALD_WEBHOOK_TIMEOUT_MS: "20000" });
  receiver = startWebhookReceiver({ "/hook": () => ({ status: 200, holdMs }) });
  gateway = await startHerald("gateway", stack.env);
});

afterAll(async () => {
  await gateway?.signal("SIGTERM");
  await receiver?.stop();
  await stack?.cleanup();
});

async function acceptWebhooks(n: number, tag: string): Promise<string[]> {
  const res = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      post(gateway.url, "/v1/notifications", { userId: tag, channel: "webhook", payload: { url: receiver.url(), body: { tag, i } } }),
    ),
  );
  expect(res.map((r) => r.status)).toEqual(Array(n).fill(202));
  return Promise.all(res.map(async (r) => ((await r.json()) as { id: string }).id));
}

test("a processor killed with SIGKILL before acking is redelivered; each id succeeds once, one row per id", async () => {
  holdMs = 5000; // the first processor's POSTs hang until it is killed
  const first = await startHerald("processor", stack.env);
  const ids = await acceptWebhooks(20, "crash");
  await eventually(async () => receiver.inFlight() >= 20, { label: "20 webhooks held" });
  expect(await first.signal("SIGKILL")).not.toBe(0);
  holdMs = 0;

  const second = await startHerald("processor", stack.env);
  await eventually(
    async () => {
      const [row] = await stack.db.db.select({ n: count() }).from(notifications).where(inArray(notifications.id, ids));
      const [sent] = await stack.db.db.select({ n: count() }).from(notifications).where(eq(notifications.status, "sent"));
      return row?.n === ids.length && sent?.n === ids.length;
    },
    { timeoutMs: 30_000, everyMs: 100 },
  );
  await second.signal("SIGTERM");

  const successes = receiver.successes();
  for (const id of ids) expect(successes.get(id)).toBe(1);
  const rows = await stack.db.db.select({ id: notifications.id }).from(notifications).where(inArray(notifications.id, ids));
  expect(new Set(rows.map((r) => r.id)).size).toBe(ids.length);
}, 60_000);

test("SIGTERM lets in-flight sends finish, persists and acks them, and exits 0", async () => {
  holdMs = 700;
  const proc = await startHerald("processor", stack.env);
  const ids = await acceptWebhooks(10, "drain");
  await eventually(async () => receiver.inFlight() >= 10, { label: "10 webhooks held" });
  expect(await proc.signal("SIGTERM")).toBe(0);
  const rows = await stack.db.db.select({ status: notifications.status }).from(notifications).where(inArray(notifications.id, ids));
  expect(rows.map((r) => r.status)).toEqual(Array(ids.length).fill("sent"));
  const attempts = await stack.db.db.select({ n: count() }).from(deliveryAttempts).where(inArray(deliveryAttempts.notificationId, ids));
  expect(attempts[0]?.n).toBe(ids.length);
  holdMs = 0;
}, 30_000);
