import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { inArray } from "drizzle-orm";
import { notifications } from "../schemas/tables.ts";
import postgres from "postgres";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { connectTestNats, deleteNamespaceStreams, deleteRedisPrefix, SERVICES, topology } from "./support/services.ts";
import { eventually } from "./support/eventually.ts";
import { createStack, get, post, statusOf, type Stack } from "./support/stack.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

// A 202 names a notification sent once, even against hostile input, a store that forgets and a lane full of schedules.

let stack: Stack;
let gateway: HeraldProcess;
let processor: HeraldProcess;
let receiver: WebhookReceiver;

beforeAll(async () => {
  stack = await createStack();
  receiver = startWebhookReceiver();
  [processor, gateway] = await Promise.all([startHerald("processor", stack.env), startHerald("gateway", stack.env)]);
});

afterAll(async () => {
  await gateway?.signal("SIGTERM");
  await processor?.signal("SIGTERM");
  await receiver?.stop();
  await stack?.cleanup();
});

const hook = (body: unknown, extra: Record<string, unknown> = {}) => ({
  userId: "u-attack",
  channel: "webhook",
  payload: { url: receiver.url(), body },
  ...extra,
});
const deliveries = (id: string) => receiver.received.filter((r) => r.id === id && r.succeeded).length;

async function batchOf(items: unknown[]): Promise<string[]> {
  const res = await post(gateway.url, "/v1/notifications/batch", { notifications: items });
  expect(res.status).toBe(202);
  return ((await res.json()) as { results: Array<{ id: string }> }).results.map((r) => r.id);
}

describe("accepted means sent", () => {
  test("a webhook body with a NUL character is a 400 with its field path", async () => {
    const res = await post(gateway.url, "/v1/notifications", `{"userId":"u","channel":"webhook","payload":{"url":"${receiver.url()}","body":{"s":"\\u0000"}}}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toEqual(["payload.body.s"]);
  });

  test("a poison message published straight to the work stream among 1,000 webhooks: the 1,000 are sent once, the poison is dead-lettered with its reason", async () => {
    const first = await batchOf(Array.from({ length: 500 }, (_, i) => hook({ i })));
    const nc = await connectTestNats();
    const topo = topology(stack.namespace);
    const poisonId = crypto.randomUUID();
    const poison = {
      v: 1,
      id: poisonId,
      tenantId: "acme",
      userId: "u",
      channel: "webhook",
      type: "transactional",
      priority: "normal",
      payload: { url: receiver.url(), body: { s: "\u0000" } },
      metadata: null,
      idempotencyKey: null,
      correlationId: null,
      scheduledFor: null,
      acceptedAt: new Date().toISOString(),
    };
    await jetstream(nc).publish(topo.sendSubject("normal", "webhook"), JSON.stringify(poison));
    const second = await batchOf(Array.from({ length: 500 }, (_, i) => hook({ i: 500 + i })));
    const ids = [...first, ...second];
    await eventually(async () => ids.every((id) => deliveries(id) >= 1), { timeoutMs: 60_000, everyMs: 200 });
    for (const id of ids) expect(deliveries(id)).toBe(1);
    expect(receiver.rejected()).toBe(0);
    expect(await statusOf(gateway.url, poisonId)).toBe("failed");
    const dlq = await eventually(async () => {
      const m = await (await jetstreamManager(nc)).streams.getMessage(topo.streams.dlq, { last_by_subj: topo.dlqSubject("webhook") }).catch(() => null);
      return m?.json<{ reason: string; error: string; envelope: { id: string } }>().envelope.id === poisonId
        ? m.json<{ reason: string; error: string }>()
        : null;
    });
    expect(dlq.reason).toBe("failed");
    expect(dlq.error).toContain("payload.body.s");
    await nc.close();
  }, 90_000);

  test("with the idempotency store forgetting between two requests of one key and body, both answers carry one id and one notification is sent", async () => {
    const body = hook({ order: "o-77" });
    const first = await post(gateway.url, "/v1/notifications", body, { "idempotency-key": "order-77" });
    expect(first.status).toBe(202);
    const { id } = (await first.json()) as { id: string };
    await deleteRedisPrefix(`${stack.namespace}:`);
    const second = await post(gateway.url, "/v1/notifications", body, { "idempotency-key": "order-77" });
    expect(second.status).toBe(202);
    expect(((await second.json()) as { id: string }).id).toBe(id);
    await eventually(async () => (await statusOf(gateway.url, id)) === "sent");
    await Bun.sleep(500);
    expect(deliveries(id)).toBe(1);
  });

  test("a batch keyed K and a single request keyed K:0 are two notifications, both sent", async () => {
    const keyed = await post(gateway.url, "/v1/notifications/batch", { notifications: [hook({ from: "keyed batch" })] }, { "idempotency-key": "K" });
    const batchId = ((await keyed.json()) as { results: Array<{ id: string }> }).results[0]?.id ?? "";
    const single = await post(gateway.url, "/v1/notifications", hook({ from: "single" }), { "idempotency-key": "K:0" });
    const singleId = ((await single.json()) as { id: string }).id;
    expect(singleId).not.toBe(batchId);
    await eventually(async () => (await statusOf(gateway.url, batchId)) === "sent" && (await statusOf(gateway.url, singleId)) === "sent");
  });

  test("200 webhooks scheduled 4 s ahead do not hold up 50 due now, and each is sent once within 2 s of its time", async () => {
    const dueAt = Date.now() + 4000;
    const later = await batchOf(Array.from({ length: 200 }, (_, i) => hook({ later: i }, { scheduledFor: new Date(dueAt).toISOString() })));
    const started = Date.now();
    const now = await batchOf(Array.from({ length: 50 }, (_, i) => hook({ now: i })));
    await eventually(async () => now.every((id) => deliveries(id) === 1), { timeoutMs: 5_000, everyMs: 50 });
    expect(Date.now() - started).toBeLessThan(2000);
    await eventually(async () => later.every((id) => deliveries(id) >= 1), { timeoutMs: 15_000, everyMs: 100 });
    const rows = await stack.db.db.select({ id: notifications.id, sentAt: notifications.sentAt }).from(notifications).where(inArray(notifications.id, later));
    expect(rows.length).toBe(later.length);
    for (const r of rows) expect((r.sentAt?.getTime() ?? 0) - dueAt).toBeLessThan(2000);
    for (const r of rows) expect((r.sentAt?.getTime() ?? 0) - dueAt).toBeGreaterThanOrEqual(-5);
    await Bun.sleep(500);
    for (const id of later) expect(deliveries(id)).toBe(1);
  }, 30_000);

  test("JSON nested 6,000 levels, ?userId=%00 and a cursor dated 30 February are 400, not 500", async () => {
    const deep = `${'{"a":'.repeat(6000)}1${"}".repeat(6000)}`;
    const nested = await post(gateway.url, "/v1/notifications", `{"userId":"u","channel":"webhook","payload":{"url":"${receiver.url()}","body":${deep}}}`);
    expect(nested.status).toBe(400);
    expect((await get(gateway.url, "/v1/notifications?userId=%00")).status).toBe(400);
    const cursor = btoa(JSON.stringify(["2026-02-30T00:00:00.000000Z", crypto.randomUUID()])).replace(/=+$/, "");
    expect((await get(gateway.url, `/v1/notifications?cursor=${cursor}`)).status).toBe(400);
  });
});

const CLI = new URL("../bin/herald.ts", import.meta.url).pathname;

async function herald(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn([process.execPath, CLI, ...args], { env: { ...process.env, LOG_LEVEL: "info", ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code: await proc.exited, out: out + err };
}

test("only `herald migrate` changes the schema: two at once on an empty database both succeed, and a gateway on it before refuses", async () => {
  const name = `herald_t_race_${Date.now().toString(36)}`;
  const admin = postgres(SERVICES.postgresAdmin, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const env = { ...stack.env, DATABASE_URL: SERVICES.postgresAdmin.replace(/\/[^/]*$/, `/${name}`), HERALD_NAMESPACE: `${stack.namespace}r` };
  try {
    const refused = await herald(["gateway"], { ...env, HERALD_PORT: "0" });
    expect(refused.code).toBe(78);
    expect(refused.out).toContain("not migrated");
    expect(refused.out).toContain("run `herald migrate`");
    const db = postgres(env.DATABASE_URL, { max: 1, onnotice: () => {} });
    const [tables] = await db`select count(*)::int as n from pg_tables where schemaname = 'public'`.finally(() => db.end());
    expect(tables?.n).toBe(0);

    const both = await Promise.all([herald(["migrate"], env), herald(["migrate"], env)]);
    for (const run of both) expect(run).toMatchObject({ code: 0, out: expect.stringContaining("migrations and streams are up to date") });
  } finally {
    const nc = await connectTestNats();
    await deleteNamespaceStreams(nc, topology(env.HERALD_NAMESPACE));
    await nc.close();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}, 60_000);
