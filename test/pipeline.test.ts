import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { count, eq } from "drizzle-orm";
import { notifications } from "../schemas/tables.ts";
import { jetstreamManager } from "@nats-io/jetstream";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { connectTestNats, topology } from "./support/services.ts";
import { eventually } from "./support/eventually.ts";
import { ADMIN_KEY, OTHER_KEY } from "./support/constants.ts";
import { createStack, get, post, statusOf, type Stack } from "./support/stack.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

// Gateway and processor as two real processes configured only through the environment, as they are deployed.
let stack: Stack;
let gateway: HeraldProcess;
let processor: HeraldProcess;
let receiver: WebhookReceiver;
const BETA_PER_SECOND = 0.001;

beforeAll(async () => {
  stack = await createStack();
  receiver = startWebhookReceiver();
  processor = await startHerald("processor", stack.env);
  // Tenant beta may make 5 requests, refilled too slowly for any test to see a token come back.
  gateway = await startHerald("gateway", { ...stack.env, HERALD_RATE_LIMIT_TENANTS: `beta:${BETA_PER_SECOND}:5` });
});

afterAll(async () => {
  await gateway?.signal("SIGTERM");
  await processor?.signal("SIGTERM");
  await receiver?.stop();
  await stack?.cleanup();
});

describe("gateway → JetStream → processor → Postgres", () => {
  test("an in-app notification goes from accepted to sent within 2 s", async () => {
    const res = await post(gateway.url, "/v1/notifications", { userId: "user-123", channel: "in_app", payload: { title: "Hi", body: "Hello" } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const started = Date.now();
    const sent = await eventually(
      async () => {
        const body = (await (await get(gateway.url, `/v1/notifications/${id}`)).json()) as { status: string; attempts: number };
        return body.status === "sent" ? body : null;
      },
      { timeoutMs: 2000 },
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(sent.attempts).toBe(1);
    expect((await get(gateway.url, `/v1/notifications/${id}`, OTHER_KEY)).status).toBe(404);
  });

  test("500 webhooks each arrive exactly once, signed, and all end sent", async () => {
    const n = 500;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        post(gateway.url, "/v1/notifications", { userId: `u-${i % 7}`, channel: "webhook", payload: { url: receiver.url(), body: { i } } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(n).fill(202));
    const ids = await Promise.all(results.map(async (r) => ((await r.json()) as { id: string }).id));
    await eventually(
      async () => {
        const [row] = await stack.db.db.select({ n: count() }).from(notifications).where(eq(notifications.status, "sent"));
        return (row?.n ?? 0) >= n + 1;
      },
      { timeoutMs: 60_000, everyMs: 200 },
    );
    const successes = receiver.successes();
    expect(receiver.rejected()).toBe(0);
    for (const id of ids) expect(successes.get(id)).toBe(1);
    expect(receiver.received.length).toBe(n);
  }, 90_000);

  test("the same Idempotency-Key replays the first response and sends once", async () => {
    const body = { userId: "user-9", channel: "webhook", payload: { url: receiver.url(), body: { once: true } } };
    const first = await post(gateway.url, "/v1/notifications", body, { "idempotency-key": "order-42" });
    const second = await post(gateway.url, "/v1/notifications", body, { "idempotency-key": "order-42" });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.headers.get("idempotency-replayed")).toBe("true");
    const { id } = (await first.json()) as { id: string };
    expect(((await second.json()) as { id: string }).id).toBe(id);
    await eventually(async () => receiver.successes().get(id) === 1);
    await Bun.sleep(300);
    expect(receiver.hits(id)).toBe(1);
  });

  test("a tenant past its rate limit gets 429 with Retry-After; other tenants go on", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await get(gateway.url, "/v1/notifications?limit=1", OTHER_KEY)).status);
    // The first test used one of beta's five tokens.
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const refused = await post(
      gateway.url,
      "/v1/notifications",
      { userId: "u", channel: "in_app", payload: { title: "Hi", body: "x" } },
      { authorization: `Bearer ${OTHER_KEY}` },
    );
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(100);
    expect((await get(gateway.url, "/v1/notifications?limit=1")).status).toBe(200);
  });

  test("a scheduled notification cancelled before it is due is never sent, and its message is settled", async () => {
    const scheduledFor = new Date(Date.now() + 1500).toISOString();
    const res = await post(gateway.url, "/v1/notifications", {
      userId: "user-c",
      channel: "webhook",
      scheduledFor,
      payload: { url: receiver.url(), body: { cancelled: true } },
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    // Wait until the processor holds it as scheduled, so the cancel meets its row, not the accepted copy.
    await eventually(async () => (await statusOf(gateway.url, id)) === "scheduled");
    const cancelled = await post(gateway.url, `/v1/notifications/${id}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as { status: string }).status).toBe("cancelled");
    // Past its time the message comes back, meets the cancelled row and is acked without a send.
    const nc = await connectTestNats();
    try {
      const jsm = await jetstreamManager(nc);
      const topo = topology(stack.namespace);
      await Bun.sleep(1800);
      await eventually(
        async () => {
          const info = await jsm.consumers.info(topo.streams.work, topo.laneConsumer("normal"));
          return info.num_pending === 0 && info.num_ack_pending === 0;
        },
        { timeoutMs: 10_000, label: "an idle lane" },
      );
    } finally {
      await nc.close();
    }
    expect(receiver.hits(id)).toBe(0);
    expect((await (await get(gateway.url, `/v1/notifications/${id}`)).json()) as { status: string; attempts: number }).toMatchObject({
      status: "cancelled",
      attempts: 0,
    });
  });

  test("the admin routes are served with HERALD_ADMIN_KEYS: the admin key lists dead letters, a tenant's key gets 403", async () => {
    const listed = await get(gateway.url, "/admin/v1/dead-letters", ADMIN_KEY);
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { data: unknown[] }).data).toBeArray();
    expect((await get(gateway.url, "/admin/v1/dead-letters")).status).toBe(403);
  });

  test("an in-app notification lands in the user's inbox with its title and body, unread until marked read", async () => {
    const userId = `inbox-${crypto.randomUUID()}`;
    const res = await post(gateway.url, "/v1/notifications", {
      userId,
      channel: "in_app",
      payload: { title: "Your order shipped", body: "It arrives Friday", data: { orderId: "o-9" } },
    });
    const { id } = (await res.json()) as { id: string };
    const page = await eventually(async () => {
      const p = (await (await get(gateway.url, `/v1/inbox?userId=${userId}`)).json()) as {
        data: { id: string; title: string; body: string; data: unknown; readAt: string | null }[];
        unreadCount: number;
      };
      return p.data.length === 1 ? p : null;
    });
    expect(page.data[0]).toMatchObject({ id, title: "Your order shipped", body: "It arrives Friday", data: { orderId: "o-9" }, readAt: null });
    expect(page.unreadCount).toBe(1);
    expect((await post(gateway.url, `/v1/inbox/${id}/read`, {})).status).toBe(200);
    expect(((await (await get(gateway.url, `/v1/inbox?userId=${userId}`)).json()) as { unreadCount: number }).unreadCount).toBe(0);
  });
});
