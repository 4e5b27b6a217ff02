import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Envelope } from "../schemas/envelope.ts";
import { connectTestNats } from "../test/support/services.ts";
import { accept } from "./accept.ts";
import { createApp } from "./app.ts";
import { createWorkPublisher, isPublishUnavailable, type Publisher } from "../lib/nats/work.ts";
import { createMemoryStore } from "./store/memory.ts";
import { addWorkStream, createStreamFixture, KEYS, send, VALID, type StreamFixture } from "../test/support/gateway-fixture.ts";
import { silentLogger } from "../test/support/loggers.ts";
import type { NotificationCanceller, Inbox, NotificationReader } from "../schemas/views.ts";

// No route here reads Postgres, so a reader that is never called stands in.
const unusedReader: NotificationReader = {
  get: () => Promise.reject(new Error("unused")),
  list: () => Promise.reject(new Error("unused")),
  attempts: () => Promise.reject(new Error("unused")),
};
const unusedCanceller: NotificationCanceller = { cancel: () => Promise.reject(new Error("unused")) };
const unusedInbox: Inbox = {
  list: () => Promise.reject(new Error("unused")),
  markRead: () => Promise.reject(new Error("unused")),
  markAllRead: () => Promise.reject(new Error("unused")),
};

let f: StreamFixture;
beforeAll(async () => {
  f = await createStreamFixture({ withStream: false });
});
afterAll(async () => {
  await f.cleanup();
});

function envelope(): Envelope {
  return accept(
    { userId: "u", channel: "in_app", type: "system", priority: "low", payload: { title: "t", body: "b" } },
    { tenant: "acme", idempotencyKey: null, correlationId: "c", now: new Date() },
  ).envelope;
}

function appWith(publisher: Publisher, store = createMemoryStore()) {
  return {
    store,
    app: createApp({ keys: KEYS, store, publisher, reader: unusedReader, canceller: unusedCanceller, inbox: unusedInbox, readiness: [], logger: silentLogger }),
  };
}

describe("createWorkPublisher", () => {
  test("fails fast with PublishUnavailableError when no stream takes the subject", async () => {
    const err = await f.publisher.publish(envelope(), "no-stream").catch((e: unknown) => e);
    expect(isPublishUnavailable(err)).toBe(true);
  });

  test("fails with PublishUnavailableError when the ack does not come in time", async () => {
    const nc = await connectTestNats();
    // A subscriber that never answers swallows the request, so only the timeout can end it.
    const silent = nc.subscribe(f.topo.wildcards.work);
    const publisher = createWorkPublisher(nc, f.topo, { timeoutMs: 150 });
    const started = Date.now();
    const err = await publisher.publish(envelope(), "timeout").catch((e: unknown) => e);
    expect(isPublishUnavailable(err)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    silent.unsubscribe();
    await nc.close();
  });

  test("fails with PublishUnavailableError on a closed connection", async () => {
    const nc = await connectTestNats();
    await nc.close();
    const err = await createWorkPublisher(nc, f.topo, { timeoutMs: 500 })
      .publish(envelope(), "closed")
      .catch((e: unknown) => e);
    expect(isPublishUnavailable(err)).toBe(true);
  });
});

describe("publish failure at the route", () => {
  test("answers 503 with Retry-After and stores nothing; the same key succeeds once the stream exists", async () => {
    const { app, store } = appWith(f.publisher);
    const body = VALID.in_app;
    const refused = await send(app, "/v1/notifications", { body, headers: { "idempotency-key": "outage-1" } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    // 503 again, not 409 or a replay: the first attempt left neither a claim nor a response behind.
    const again = await send(app, "/v1/notifications", { body, headers: { "idempotency-key": "outage-1" } });
    expect(again.status).toBe(503);

    await addWorkStream(f.jsm, f.topo);
    const accepted = await send(app, "/v1/notifications", { body, headers: { "idempotency-key": "outage-1" } });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get("idempotency-replayed")).toBeNull();
    expect(await f.count()).toBe(1);
    expect(await store.claim("acme", "outage-1", "other-hash", 1_000)).toEqual({ kind: "mismatch" });
    await f.jsm.streams.delete(f.topo.streams.work);
  });

  test("answers 503 on a closed connection and keeps no claim", async () => {
    const nc = await connectTestNats();
    await nc.close();
    const { app, store } = appWith(createWorkPublisher(nc, f.topo, { timeoutMs: 500 }));
    const res = await send(app, "/v1/notifications", { body: VALID.email, headers: { "idempotency-key": "closed-1" } });
    expect(res.status).toBe(503);
    expect(await store.claim("acme", "closed-1", "h", 1_000)).toEqual({ kind: "claimed" });
  });

  test("answers 503 for a batch when no item could be published, and keeps nothing", async () => {
    const { app, store } = appWith(f.publisher);
    const res = await send(app, "/v1/notifications/batch", { body: { notifications: [VALID.email, VALID.sms] }, headers: { "idempotency-key": "batch-out" } });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await store.claim("acme", "batch-out", "h", 1_000)).toEqual({ kind: "claimed" });
  });
});

describe("JetStream deduplication", () => {
  test("drops a second publish with the same Nats-Msg-Id and keeps many publishes in flight", async () => {
    await addWorkStream(f.jsm, f.topo);
    const publisher = createWorkPublisher(f.nc, f.topo, { timeoutMs: 2_000 });
    await Promise.all(Array.from({ length: 300 }, (_, i) => publisher.publish(envelope(), `acme:dup-${i % 100}`)));
    expect(await f.count()).toBe(100);
  });
});
