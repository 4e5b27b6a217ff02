// Status webhooks end to end: `herald all` on real NATS and Postgres fans
// lifecycle events out to tenants' endpoints, and loopback receivers verify
// every POST with the `standardwebhooks` package, as a tenant's backend would.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { lifecycleEvent, type LifecycleEvent } from "../schemas/events.ts";
import { EndpointDisabledEvent } from "../schemas/ops-events.ts";
import { topology } from "../schemas/subjects.ts";
import { eventually } from "./support/eventually.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { connectTestNats } from "./support/services.ts";
import { createStack, type Stack } from "./support/stack.ts";
import { startStatusReceiver, type StatusReceiver } from "./support/status-receiver.ts";

const TOKEN_SECRET = "status webhooks test token secret, 32+ characters";
/** One tenant per test, so one test's events never reach another's endpoints. */
const TENANTS = ["flaky", "copies", "dead", "slow", "iso", "other", "off"] as const;
type Tenant = (typeof TENANTS)[number];
const keyOf = (tenant: Tenant) => `key-${tenant}-0123456789`;
const API_KEYS = TENANTS.map((t) => `${t}:${keyOf(t)}`).join(",");

interface Endpoint {
  id: string;
  secret: string;
  url: string;
}

interface Env {
  stack: Stack;
  herald: HeraldProcess;
}

async function start(extra: Record<string, string>): Promise<Env> {
  const stack = await createStack({
    HERALD_API_KEYS: API_KEYS,
    HERALD_TOKEN_SECRET: TOKEN_SECRET,
    HERALD_STATUS_WEBHOOK_RETRY_SCHEDULE_S: "0,1,1",
    HERALD_STATUS_WEBHOOK_POLL_MS: "50",
    HERALD_STATUS_WEBHOOK_CONCURRENCY: "8",
    ...extra,
  });
  return { stack, herald: await startHerald("all", stack.env) };
}

function api(env: Env, tenant: Tenant, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${env.herald.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${keyOf(tenant)}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function addEndpoint(env: Env, receiver: StatusReceiver, tenant: Tenant, path: string): Promise<Endpoint> {
  const res = await api(env, tenant, "POST", "/v1/webhook-endpoints", { url: receiver.url(path), description: path });
  expect(res.status).toBe(201);
  const made = (await res.json()) as Endpoint;
  expect(made.secret).toMatch(/^whsec_/);
  receiver.expect(path, made.secret);
  return made;
}

function event(tenant: Tenant, type: LifecycleEvent["type"] = "sent"): LifecycleEvent {
  return lifecycleEvent(type, { id: crypto.randomUUID(), tenantId: tenant, userId: "u-1", channel: "email" }, { attempt: 1 });
}

async function publish(nc: NatsConnection, env: Env, ev: LifecycleEvent, msgId = ev.eventId): Promise<void> {
  await jetstream(nc).publish(topology(env.stack.namespace).eventSubject(ev.type), JSON.stringify(ev), { msgID: msgId });
}

interface Delivery {
  id: string;
  eventId: string;
  status: string;
  attempts: number;
}

async function deliveries(env: Env, tenant: Tenant, endpointId: string, query = ""): Promise<Delivery[]> {
  const res = await api(env, tenant, "GET", `/v1/webhook-endpoints/${endpointId}/deliveries${query}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Delivery[] }).data;
}

let nc: NatsConnection;
let main: Env;
let receiver: StatusReceiver;

beforeAll(async () => {
  receiver = startStatusReceiver({
    "/flaky": (n) => ({ status: n <= 2 ? 500 : 200 }),
    "/dead": () => ({ status: 500 }),
    "/slow": () => ({ status: 200, holdMs: 1500 }),
  });
  nc = await connectTestNats();
  main = await start({});
}, 60_000);

afterAll(async () => {
  await main?.herald.signal("SIGTERM");
  await main?.stack.cleanup();
  await nc?.close();
  await receiver?.stop();
});

describe("status webhooks", () => {
  test("an endpoint that answers 500 twice gets the signed event on the third attempt, with one webhook-id throughout", async () => {
    const ep = await addEndpoint(main, receiver, "flaky", "/flaky");
    const ev = event("flaky");
    await publish(nc, main, ev);
    const posts = await eventually(async () => (receiver.to("/flaky").length >= 3 ? receiver.to("/flaky") : null), { label: "three attempts" });
    expect(posts.map((p) => p.status)).toEqual([500, 500, 200]);
    expect(new Set(posts.map((p) => p.id)).size).toBe(1);
    expect(posts[2]?.body).toEqual(ev);
    const [d] = await eventually(async () => {
      const list = await deliveries(main, "flaky", ep.id);
      return list[0]?.status === "delivered" ? list : null;
    });
    expect(d?.attempts).toBe(3);
    const attempts = (await (await api(main, "flaky", "GET", `/v1/webhook-endpoints/${ep.id}/deliveries/${d?.id}/attempts`)).json()) as {
      data: Array<{ statusCode: number; responseBody: string | null }>;
    };
    expect(attempts.data.map((a) => a.statusCode)).toEqual([500, 500, 200]);
    expect(attempts.data[0]?.responseBody).toBe("receiver says no");
    expect(receiver.rejected()).toBe(0);
  }, 20_000);

  test("copies of an event (one eventId, published twice) are delivered once", async () => {
    await addEndpoint(main, receiver, "copies", "/copies");
    const ev = event("copies");
    await publish(nc, main, ev);
    // Another Nats-Msg-Id, so the stream keeps the copy and only the delivery's unique key can drop it.
    await publish(nc, main, ev, `${ev.eventId}:copy`);
    await eventually(async () => receiver.to("/copies").length === 1);
    await Bun.sleep(1000);
    expect(receiver.to("/copies").map((p) => p.body.eventId)).toEqual([ev.eventId]);
  }, 20_000);

  test("a permanently failing endpoint's deliveries land in the dead list, and replay since T re-sends exactly those since T", async () => {
    const ep = await addEndpoint(main, receiver, "dead", "/dead");
    const early = event("dead");
    await publish(nc, main, early);
    await eventually(async () => (await deliveries(main, "dead", ep.id, "?status=failed")).length === 1, { label: "the first in the dead list" });
    await Bun.sleep(20);
    const since = new Date().toISOString();
    const late = [event("dead"), event("dead")];
    for (const ev of late) await publish(nc, main, ev);
    const dead = await eventually(async () => {
      const list = await deliveries(main, "dead", ep.id, "?status=failed");
      return list.length === 3 ? list : null;
    });
    expect(dead.every((d) => d.attempts === 3)).toBe(true);
    const postsOf = (ev: LifecycleEvent) => receiver.to("/dead").filter((p) => p.body.eventId === ev.eventId).length;
    expect([early, ...late].map(postsOf)).toEqual([3, 3, 3]);

    const replay = await api(main, "dead", "POST", `/v1/webhook-endpoints/${ep.id}/replay`, { since });
    expect(replay.status).toBe(202);
    expect(await replay.json()).toEqual({ queued: 2 });
    // Idempotent: those two are queued now, nothing else is failed since T.
    expect(await (await api(main, "dead", "POST", `/v1/webhook-endpoints/${ep.id}/replay`, { since })).json()).toEqual({ queued: 0 });
    await eventually(async () => (await deliveries(main, "dead", ep.id, "?status=failed")).length === 3 && late.every((ev) => postsOf(ev) === 6), {
      label: "the replayed ones sent again and dead again",
    });
    expect(postsOf(early)).toBe(3);

    // One delivery on its own.
    const one = dead.find((d) => d.eventId === early.eventId);
    const retried = await api(main, "dead", "POST", `/v1/webhook-endpoints/${ep.id}/deliveries/${one?.id}/retry`);
    expect(retried.status).toBe(202);
    await eventually(async () => postsOf(early) === 6, { label: "the retried one sent again" });
  }, 40_000);

  test("a slow endpoint does not hold up a fast one of the same tenant", async () => {
    await addEndpoint(main, receiver, "slow", "/slow");
    await addEndpoint(main, receiver, "slow", "/fast");
    const events = Array.from({ length: 12 }, () => event("slow"));
    const started = Date.now();
    for (const ev of events) await publish(nc, main, ev);
    await eventually(async () => receiver.to("/fast").length === 12, { label: "every event at the fast endpoint" });
    const fastMs = Date.now() - started;
    // The slow one holds each POST 1.5 s with at most two in flight: it has done a few by now, not all.
    expect(receiver.to("/slow").length).toBeLessThan(6);
    expect(fastMs).toBeLessThan(3000);
  }, 20_000);

  test("another tenant's endpoint is a 404 on every route that names it", async () => {
    const ep = await addEndpoint(main, receiver, "iso", "/iso");
    const paths: Array<[string, string, unknown?]> = [
      ["GET", `/v1/webhook-endpoints/${ep.id}`],
      ["PATCH", `/v1/webhook-endpoints/${ep.id}`, { enabled: false }],
      ["GET", `/v1/webhook-endpoints/${ep.id}/secret`],
      ["POST", `/v1/webhook-endpoints/${ep.id}/secret/rotate`, {}],
      ["GET", `/v1/webhook-endpoints/${ep.id}/deliveries`],
      ["POST", `/v1/webhook-endpoints/${ep.id}/replay`, { since: new Date(0).toISOString() }],
      ["DELETE", `/v1/webhook-endpoints/${ep.id}`],
    ];
    for (const [method, path, body] of paths)
      expect({ method, path, status: (await api(main, "other", method, path, body)).status }).toEqual({ method, path, status: 404 });
    const list = (await (await api(main, "other", "GET", "/v1/webhook-endpoints")).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
    const mine = (await (await api(main, "iso", "GET", `/v1/webhook-endpoints/${ep.id}`)).json()) as { enabled: boolean };
    expect(mine.enabled).toBe(true);
  });

  test("a rotated secret keeps signing beside the new one for its grace", async () => {
    const ep = await addEndpoint(main, receiver, "iso", "/rotating");
    const rotated = await api(main, "iso", "POST", `/v1/webhook-endpoints/${ep.id}/secret/rotate`, { graceSeconds: 3600 });
    expect(rotated.status).toBe(201);
    const { secret } = (await rotated.json()) as { secret: string };
    const shown = (await (await api(main, "iso", "GET", `/v1/webhook-endpoints/${ep.id}/secret`)).json()) as { secret: string; previous: { secret: string } };
    expect(shown).toMatchObject({ secret, previous: { secret: ep.secret } });
    // The receiver still holds the old secret: it verifies, since both sign.
    const ev = event("iso");
    await publish(nc, main, ev);
    await eventually(async () => receiver.to("/rotating").length === 1);
    expect(receiver.rejected()).toBe(0);
  }, 20_000);
});

describe("the SSRF rules", () => {
  let gateway: HeraldProcess;
  beforeAll(async () => {
    gateway = await startHerald("gateway", { ...main.stack.env, HERALD_WEBHOOK_ALLOW_PRIVATE: "0" });
  });
  afterAll(async () => {
    await gateway?.signal("SIGTERM");
  });

  test("refuse http, loopback, private and link-local URLs with a 400 naming `url` without HERALD_WEBHOOK_ALLOW_PRIVATE", async () => {
    const refused = ["https://127.0.0.1/hook", "https://localhost/hook", "https://10.1.2.3/hook", "https://169.254.169.254/latest", "http://example.com/hook"];
    for (const url of refused) {
      const res = await api({ ...main, herald: gateway }, "off", "POST", "/v1/webhook-endpoints", { url });
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      const problem = (await res.json()) as { errors: Array<{ path: string }> };
      expect(problem.errors.map((e) => e.path)).toEqual(["url"]);
    }
    const ok = await api({ ...main, herald: gateway }, "off", "POST", "/v1/webhook-endpoints", { url: "https://example.com/hook" });
    expect(ok.status).toBe(201);
    const { id } = (await ok.json()) as { id: string };
    const patched = await api({ ...main, herald: gateway }, "off", "PATCH", `/v1/webhook-endpoints/${id}`, { url: "https://192.168.0.1/" });
    expect(patched.status).toBe(400);
  });
});

describe("disabling", () => {
  let env: Env;
  let sub: ReturnType<NatsConnection["subscribe"]>;
  const ops: EndpointDisabledEvent[] = [];

  beforeAll(async () => {
    // 0.0005 h = 1.8 s of failures; the schedule keeps failing long past it.
    env = await start({ HERALD_STATUS_WEBHOOK_DISABLE_AFTER_H: "0.0005", HERALD_STATUS_WEBHOOK_RETRY_SCHEDULE_S: "0,1,1,1,1,1" });
    sub = nc.subscribe(topology(env.stack.namespace).opsSubject("endpoint_disabled"));
    void (async () => {
      for await (const m of sub) ops.push(EndpointDisabledEvent.parse(m.json()));
    })();
  }, 60_000);
  afterAll(async () => {
    sub?.unsubscribe();
    await env?.herald.signal("SIGTERM");
    await env?.stack.cleanup();
  });

  test("an endpoint failing past the threshold is disabled, endpoint_disabled is published, and re-enabling clears it", async () => {
    const ep = await addEndpoint(env, receiver, "dead", "/dead");
    await publish(nc, env, event("dead"));
    const disabled = await eventually(
      async () => {
        const view = (await (await api(env, "dead", "GET", `/v1/webhook-endpoints/${ep.id}`)).json()) as {
          enabled: boolean;
          disabledAt: string | null;
          disabledReason: string | null;
        };
        return view.enabled ? null : view;
      },
      { label: "the endpoint disabled" },
    );
    expect(disabled.disabledAt).not.toBeNull();
    expect(disabled.disabledReason).toContain("failed");
    await eventually(async () => ops.length === 1, { label: "endpoint_disabled on NATS" });
    expect(ops[0]).toMatchObject({ type: "endpoint_disabled", tenantId: "dead", endpointId: ep.id });
    // What was pending went to the dead list.
    expect((await deliveries(env, "dead", ep.id, "?status=pending")).length).toBe(0);

    const enabled = (await (await api(env, "dead", "PATCH", `/v1/webhook-endpoints/${ep.id}`, { enabled: true })).json()) as Record<string, unknown>;
    expect(enabled).toMatchObject({ enabled: true, disabledAt: null, disabledReason: null, failingSince: null });
  }, 30_000);
});
