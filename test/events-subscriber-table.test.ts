import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres, { type Sql } from "postgres";
import type { Subscription } from "@herald/events";
import { startStatusTable } from "../examples/status-table/status-table.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { eventually } from "./support/eventually.ts";
import { SERVICES } from "./support/services.ts";
import { createStack, post, type Stack } from "./support/stack.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

// The done-when of the events subscriber: a service that keeps its own table from the events alone ends up
// with Postgres's statuses exactly, through retries, permanent failures, schedules, cancels, batches, a killed processor and its own restart.
let stack: Stack;
let gateway: HeraldProcess;
let processors: HeraldProcess[] = [];
let receiver: WebhookReceiver;
let table: { sql: Sql; name: string; sub: Subscription | null };

const FINAL = ["sent", "failed", "cancelled"];

beforeAll(async () => {
  stack = await createStack({ HERALD_ACK_WAIT_MS: "2000" });
  receiver = startWebhookReceiver({
    "/ok": () => ({ status: 200 }),
    // Held long enough that the processor killed midway has sends in flight.
    "/slow": () => ({ status: 200, holdMs: 1500 }),
    "/flaky": (nth) => ({ status: nth === 1 ? 503 : 200 }),
    "/gone": () => ({ status: 410 }),
  });
  const name = `status_table_${stack.namespace}`;
  const admin = postgres(SERVICES.postgresAdmin, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  table = { sql: postgres(SERVICES.postgresAdmin.replace(/\/[^/]*$/, `/${name}`), { max: 8, onnotice: () => {} }), name, sub: null };
  [gateway, ...processors] = await Promise.all([startHerald("gateway", stack.env), startHerald("processor", stack.env), startHerald("processor", stack.env)]);
});

afterAll(async () => {
  await table?.sub?.close();
  await Promise.all([gateway, ...processors].map((p) => (p?.proc.exitCode === null ? p.signal("SIGTERM") : undefined)));
  await receiver?.stop();
  await table?.sql.end();
  const admin = postgres(SERVICES.postgresAdmin, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${table?.name}" with (force)`);
  await admin.end();
  await stack?.cleanup();
});

type Item = Record<string, unknown>;
const CHANNEL_ITEMS: Item[] = [
  { channel: "email", payload: { to: "a@example.com", subject: "Hi", body: "Hello" } },
  { channel: "sms", payload: { to: "+14155550100", body: "Hello" } },
  { channel: "push", payload: { to: "device-token", title: "Hi", body: "Hello" } },
  { channel: "in_app", payload: { title: "Hi", body: "Hello" } },
];
const hook = (path: string, i: number): Item => ({ channel: "webhook", payload: { url: receiver.url(path), body: { i } } });
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

/** 1,000 notifications: sent, retried then sent, failed for good, scheduled, to be cancelled; singles and batches. */
function mix(): { singles: Item[]; batches: Item[][]; toCancel: Item[] } {
  const items: Item[] = [];
  for (let i = 0; i < 300; i++) items.push(hook(i % 6 === 0 ? "/slow" : "/ok", i));
  for (let i = 0; i < 100; i++) items.push(hook("/flaky", i));
  for (let i = 0; i < 100; i++) items.push(hook("/gone", i));
  for (let i = 0; i < 400; i++) items.push(CHANNEL_ITEMS[i % 4] as Item);
  for (let i = 0; i < 60; i++) items.push({ ...(i % 2 ? hook("/ok", i) : CHANNEL_ITEMS[i % 4]), scheduledFor: inSeconds(3 + (i % 3)) });
  const toCancel = Array.from({ length: 40 }, (_, i) => ({ ...hook("/ok", i), scheduledFor: inSeconds(600) }));
  const all = items.map((it, i) => ({ userId: `u-${i % 17}`, ...it }));
  // Every fifth item goes in one of the batches, the rest one request each.
  const batched = all.filter((_, i) => i % 5 === 0);
  const batches = [batched.slice(0, 60), batched.slice(60, 120), batched.slice(120)];
  return { singles: all.filter((_, i) => i % 5 !== 0), batches, toCancel: toCancel.map((it, i) => ({ userId: `c-${i}`, ...it })) };
}

async function sendOne(item: Item): Promise<string> {
  const res = await post(gateway.url, "/v1/notifications", item);
  if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** Sends `items` over `width` connections at once. */
async function sendAll(items: Item[], width = 24): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const item = items[next++] as Item;
        ids.push(await sendOne(item));
      }
    }),
  );
  return ids;
}

const statuses = async (sql: Sql, query: string) => new Map((await sql.unsafe<{ id: string; status: string }[]>(query)).map((r) => [r.id, r.status]));

test("1,000 mixed notifications, a processor killed and the service restarted midway: the status table equals Postgres's notifications", async () => {
  table.sub = await startStatusTable({ sql: table.sql, servers: SERVICES.nats, namespace: stack.namespace, durable: "status-table", concurrency: 32 });
  const { singles, batches, toCancel } = mix();
  const half = Math.floor(singles.length / 2);
  const ids: string[] = [];
  ids.push(...(await sendAll(toCancel)));
  for (const batch of batches.slice(0, 2)) {
    const res = await post(gateway.url, "/v1/notifications/batch", { notifications: batch });
    expect(res.status).toBe(202);
    ids.push(...((await res.json()) as { results: Array<{ id: string }> }).results.map((r) => r.id));
  }
  ids.push(...(await sendAll(singles.slice(0, half))));
  // One processor dies mid-run with sends in flight; the other and the redeliveries carry on.
  const killed = processors[0] as HeraldProcess;
  await eventually(async () => receiver.inFlight() >= 4, { label: "slow webhooks in flight" });
  expect(await killed.signal("SIGKILL")).not.toBe(0);
  const cancels = toCancel.map((_, i) => post(gateway.url, `/v1/notifications/${ids[i]}/cancel`, {}));
  const rest = singles.slice(half);
  const quarter = Math.floor(rest.length / 2);
  ids.push(...(await sendAll(rest.slice(0, quarter))));
  // The service restarts too: its durable resumes where it stopped, and what it had pulled comes again.
  await table.sub.close();
  table.sub = await startStatusTable({ sql: table.sql, servers: SERVICES.nats, namespace: stack.namespace, durable: "status-table", concurrency: 32 });
  ids.push(...(await sendAll(rest.slice(quarter))));
  const res = await post(gateway.url, "/v1/notifications/batch", { notifications: batches[2] });
  expect(res.status).toBe(202);
  ids.push(...((await res.json()) as { results: Array<{ id: string }> }).results.map((r) => r.id));
  expect((await Promise.all(cancels)).map((r) => r.status)).toEqual(Array(toCancel.length).fill(200));
  expect(new Set(ids).size).toBe(1000);

  const herald = postgres(stack.db.url, { max: 2, onnotice: () => {} });
  await eventually(
    async () => {
      const [r] = await herald<{ n: number }[]>`select count(*)::int as n from notifications where status in ${herald(FINAL)}`;
      return r?.n === 1000;
    },
    { timeoutMs: 60_000, everyMs: 250, label: "every notification final" },
  );
  const truth = await statuses(herald, "select id::text, status from notifications");
  expect([...truth.values()].filter((s) => s === "failed").length).toBe(100);
  expect([...truth.values()].filter((s) => s === "cancelled").length).toBe(40);
  let seen = new Map<string, string>();
  await eventually(
    async () => {
      seen = await statuses(table.sql, "select id::text, status from notification_status");
      return seen.size === truth.size && [...truth].every(([id, s]) => seen.get(id) === s);
    },
    { timeoutMs: 15_000, everyMs: 250 },
  ).catch(() => undefined);
  const differ = [...truth].filter(([id, s]) => seen.get(id) !== s).map(([id, s]) => `${id}: postgres ${s}, table ${seen.get(id) ?? "(none)"}`);
  await herald.end();
  console.log(`status table after its restart: ${JSON.stringify(table.sub.stats())}`);
  expect(differ).toEqual([]);
  expect(seen.size).toBe(truth.size);
}, 90_000);
