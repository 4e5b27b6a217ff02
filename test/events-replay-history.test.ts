// The admin event routes over a real processor's events: a window as pages and as NDJSON, and a retried-then-sent notification's timeline.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { createApp } from "../gateway/app.ts";
import type { GatewayDeps } from "../gateway/context.ts";
import type { EventPage, NotificationHistory, StreamEvent } from "../gateway/routes/admin-events.ts";
import { createMemoryStore } from "../gateway/store/memory.ts";
import { createNotificationCanceller } from "../lib/db/canceller.ts";
import { createInbox } from "../lib/db/inbox-store.ts";
import { createNotificationReader } from "../lib/db/reads.ts";
import { readEvents } from "../lib/nats/event-reader.ts";
import { createWorkPublisher } from "../lib/nats/work.ts";
import { deadLetterAdmin } from "../processor/dead-letter-admin.ts";
import type { LifecycleEvent } from "../schemas/events.ts";
import { ADMIN_KEY, TENANT_KEY } from "./support/constants.ts";
import { eventually } from "./support/eventually.ts";
import { ADMIN_KEYS, KEYS, send } from "./support/gateway-fixture.ts";
import { silentLogger } from "./support/loggers.ts";
import { createHarness, envelope, testSenders, type Harness } from "./support/processor-harness.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

let h: Harness;
let receiver: WebhookReceiver;
let app: ReturnType<typeof createApp>;
let deps: GatewayDeps;
let since: string;
/** A webhook the receiver answers 503 once, then 200. */
let retried: string;

async function streamEvents(): Promise<StreamEvent[]> {
  const jsm = await jetstreamManager(h.nc);
  const { state } = await jsm.streams.info(h.topo.streams.events);
  const out: StreamEvent[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(h.topo.streams.events, { seq });
    if (m !== null) out.push({ seq, time: m.time.toISOString(), event: m.json<LifecycleEvent>() });
  }
  return out;
}

beforeAll(async () => {
  h = await createHarness();
  receiver = startWebhookReceiver({ "/flaky": (nth) => ({ status: nth === 1 ? 503 : 200 }) });
  await h.start(testSenders(), { retryBaseMs: 20, retryMaxMs: 50 });
  since = new Date(Date.now() - 1000).toISOString();
  const flaky = envelope({ channel: "webhook", payload: { url: receiver.url("/flaky"), body: { n: 1 } } });
  retried = flaky.id;
  const others = [envelope(), envelope({ tenantId: "beta", channel: "email" }), envelope({ channel: "sms" })];
  for (const e of [flaky, ...others]) await h.publish(e);
  await eventually(async () => (await Promise.all([flaky, ...others].map((e) => h.row(e.id)))).every((r) => r?.status === "sent"), { timeoutMs: 15_000 });
  await eventually(async () => (await streamEvents()).filter((m) => m.event.type === "sent").length === 4);
  deps = {
    keys: KEYS,
    store: createMemoryStore(),
    publisher: createWorkPublisher(h.nc, h.topo, { timeoutMs: 2_000 }),
    reader: createNotificationReader(h.db.db),
    canceller: createNotificationCanceller(h.db.db),
    inbox: createInbox(h.db.db),
    readiness: [],
    logger: silentLogger,
    admin: {
      keys: ADMIN_KEYS,
      deadLetters: deadLetterAdmin(h.nc, { db: h.db.db, publisher: h.out, topo: h.topo, log: silentLogger }),
      db: h.db.db,
      events: { read: (window, progress) => readEvents(h.nc, h.topo, window, progress) },
    },
  };
  app = createApp(deps);
}, 60_000);

afterAll(async () => {
  await receiver.stop();
  await h.cleanup();
});

const admin = { key: ADMIN_KEY };

describe("GET /admin/v1/notifications/:id/history", () => {
  test("a retried-then-sent notification's timeline, in order, each event once, with its stream time", async () => {
    // A copy of its sent event published late, as a crash can: same eventId, so the timeline keeps one.
    const sent = (await streamEvents()).find((m) => m.event.id === retried && m.event.type === "sent");
    if (sent === undefined) throw new Error("no sent event");
    await jetstream(h.nc).publish(h.topo.eventSubject("sent"), JSON.stringify(sent.event));

    const res = await send(app, `/admin/v1/notifications/${retried}/history`, admin);
    expect(res.status).toBe(200);
    const history = (await res.json()) as NotificationHistory;
    const row = await h.row(retried);
    expect(history).toMatchObject({ id: retried, tenantId: "acme", createdAt: row?.createdAt.toISOString(), status: "sent" });
    expect(history.timeline.map((s) => [s.type, s.attempt])).toEqual([
      ["accepted", null],
      ["retrying", 1],
      ["sent", 2],
    ]);
    expect(history.timeline[1]?.error).toContain("503");
    expect(history.timeline[2]).toMatchObject({ eventId: sent.event.eventId, seq: sent.seq, streamTime: sent.time, provider: sent.event.provider ?? null });
    for (const step of history.timeline) expect(Date.parse(step.streamTime)).toBeGreaterThanOrEqual(Date.parse(step.at) - 1000);
    expect(history.scanned.messages).toBeGreaterThanOrEqual(history.timeline.length + 1);
  });

  test("reads no further than `until`; 404 for an unknown or malformed id; a tenant's admin key is refused", async () => {
    const row = await h.row(retried);
    const early = await send(app, `/admin/v1/notifications/${retried}/history?until=${encodeURIComponent(row?.createdAt.toISOString() ?? "")}`, admin);
    expect(((await early.json()) as NotificationHistory).timeline).toEqual([]);
    expect((await send(app, `/admin/v1/notifications/${crypto.randomUUID()}/history`, admin)).status).toBe(404);
    expect((await send(app, "/admin/v1/notifications/not-a-uuid/history", admin)).status).toBe(404);
    expect((await send(app, `/admin/v1/notifications/${retried}/history`, { key: TENANT_KEY })).status).toBe(403);
    expect((await send(app, `/admin/v1/notifications/${retried}/history?until=soon`, admin)).status).toBe(400);
  });

  test("answers 503 where the gateway has no events stream to read", async () => {
    const { events: _events, ...without } = deps.admin ?? {
      keys: ADMIN_KEYS,
      deadLetters: deadLetterAdmin(h.nc, { db: h.db.db, publisher: h.out, topo: h.topo, log: silentLogger }),
    };
    const bare = createApp({ ...deps, admin: without });
    expect((await send(bare, `/admin/v1/notifications/${retried}/history`, admin)).status).toBe(503);
    expect((await send(bare, `/admin/v1/events?since=${since}`, admin)).status).toBe(503);
  });
});

describe("GET /admin/v1/events", () => {
  test("pages of the window by cursor add up to the NDJSON of the whole window, which is the stream's own", async () => {
    const all = await streamEvents();
    const ndjson = await send(app, `/admin/v1/events?since=${since}`, { ...admin, headers: { accept: "application/x-ndjson" } });
    expect(ndjson.headers.get("content-type")).toBe("application/x-ndjson");
    const lines = (await ndjson.text())
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as StreamEvent);
    expect(lines).toEqual(all);

    const paged: StreamEvent[] = [];
    let cursor = "";
    for (let pages = 0; pages < 20; pages++) {
      const page = (await (await send(app, `/admin/v1/events?since=${since}&limit=3${cursor}`, admin)).json()) as EventPage;
      paged.push(...page.data);
      expect(page.invalid).toEqual([]);
      if (page.nextCursor === null) break;
      expect(page.data.length).toBe(3);
      cursor = `&cursor=${page.nextCursor}`;
    }
    expect(paged).toEqual(all);
  });

  test("filters by type and tenant, and ends at until", async () => {
    const all = await streamEvents();
    const read = async (query: string) => ((await (await send(app, `/admin/v1/events?since=${since}&limit=1000${query}`, admin)).json()) as EventPage).data;
    expect(await read("&type=sent")).toEqual(all.filter((m) => m.event.type === "sent"));
    expect(await read("&type=retrying,accepted&tenant=acme")).toEqual(
      all.filter((m) => ["retrying", "accepted"].includes(m.event.type) && m.event.tenantId === "acme"),
    );
    const third = all[2];
    if (third === undefined) throw new Error("too few events");
    // The stream's times have microseconds; a window ending at the millisecond after the third message's holds the first three at least.
    const until = new Date(Date.parse(third.time) + 1).toISOString();
    const head = await read(`&until=${until}`);
    expect(head).toEqual(all.filter((m) => Date.parse(m.time) < Date.parse(until)));
    expect(head.length).toBeGreaterThanOrEqual(3);
    expect((await send(app, "/admin/v1/events?since=yesterday", admin)).status).toBe(400);
    expect((await send(app, `/admin/v1/events?since=${since}&type=processing`, admin)).status).toBe(400);
    expect((await send(app, `/admin/v1/events?since=${since}`, { key: TENANT_KEY })).status).toBe(403);
  });
});
