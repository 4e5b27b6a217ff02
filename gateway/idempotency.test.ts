import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestDatabase, type TestDatabase } from "../test/support/services.ts";
import { STORE_ADAPTERS, type TestStore } from "../test/support/stores.ts";
import { createApp } from "./app.ts";
import type { Publisher } from "../lib/nats/work.ts";
import { createNotificationCanceller } from "../lib/db/canceller.ts";
import { createInbox } from "../lib/db/inbox-store.ts";
import { createNotificationReader } from "../lib/db/reads.ts";
import { OTHER_KEY } from "../test/support/constants.ts";
import { blockingPublisher, createStreamFixture, KEYS, send, VALID, type StreamFixture } from "../test/support/gateway-fixture.ts";
import { silentLogger } from "../test/support/loggers.ts";

let stream: StreamFixture;
let db: TestDatabase;
beforeAll(async () => {
  [stream, db] = await Promise.all([createStreamFixture(), createTestDatabase()]);
});
afterAll(async () => {
  await Promise.all([stream.cleanup(), db.drop()]);
});

describe.each(STORE_ADAPTERS)("Idempotency-Key on the $name store", (adapter) => {
  /** The adapter's name as Idempotency-Key characters. */
  const tag = adapter.name.replace(/[^A-Za-z]+/g, "-");
  let t: TestStore;
  beforeAll(async () => {
    t = await adapter.create(`${stream.topo.namespace}:`);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  const appWith = (publisher: Publisher = stream.publisher) =>
    createApp({
      keys: KEYS,
      store: t.store,
      publisher,
      reader: createNotificationReader(db.db),
      canceller: createNotificationCanceller(db.db),
      inbox: createInbox(db.db),
      readiness: [],
      logger: silentLogger,
    });
  const post = (app: ReturnType<typeof appWith>, key: string, body: unknown = VALID.email, apiKey?: string) =>
    send(app, "/v1/notifications", { body, key: apiKey, headers: { "idempotency-key": key } });

  test("replays the first answer with Idempotency-Replayed: true and publishes once", async () => {
    const app = appWith();
    const before = await stream.count();
    const key = `${tag}-replay`;
    const first = await post(app, key);
    const second = await post(app, key);
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(first.headers.get("idempotency-replayed")).toBeNull();
    expect(second.headers.get("idempotency-replayed")).toBe("true");
    expect(second.headers.get("content-type")).toContain("application/json");
    expect(await second.text()).toBe(await first.text());
    expect(await stream.count()).toBe(before + 1);
  });

  test("answers 409 with Retry-After while the first request is still publishing", async () => {
    const blocking = blockingPublisher(stream.publisher);
    const app = appWith(blocking);
    const before = await stream.count();
    const key = `${tag}-in-flight`;
    const first = post(app, key);
    await blocking.started;
    const second = await post(app, key);
    expect(second.status).toBe(409);
    expect(second.headers.get("retry-after")).toBe("1");
    expect(second.headers.get("content-type")).toBe("application/problem+json");
    blocking.release();
    expect((await first).status).toBe(202);
    const third = await post(app, key);
    expect(third.headers.get("idempotency-replayed")).toBe("true");
    expect(await stream.count()).toBe(before + 1);
  });

  test("answers 422 when the key is reused with another body", async () => {
    const app = appWith();
    const before = await stream.count();
    const key = `${tag}-mismatch`;
    expect((await post(app, key, VALID.email)).status).toBe(202);
    const other = await post(app, key, VALID.sms);
    expect(other.status).toBe(422);
    expect(((await other.json()) as { type: string }).type).toEndWith("/idempotency_mismatch");
    expect(await stream.count()).toBe(before + 1);
  });

  test("replays when the same JSON comes back serialized differently: key order, whitespace, escapes", async () => {
    const app = appWith();
    const before = await stream.count();
    const key = `${tag}-reserialized`;
    const first = await post(app, key, '{"userId":"user-1","channel":"email","payload":{"to":"a@example.com","subject":"Hi","body":"Hello"}}');
    const again = await post(
      app,
      key,
      '{ "payload": { "body": "Hell\\u006f", "subject": "Hi", "to": "a@example.com" },\n  "channel": "email", "userId": "user-1" }',
    );
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.headers.get("idempotency-replayed")).toBe("true");
    expect(((await again.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id);
    const changed = await post(app, key, '{"userId":"user-1","channel":"email","payload":{"to":"a@example.com","subject":"Hi","body":"Hello!"}}');
    expect(changed.status).toBe(422);
    expect(await stream.count()).toBe(before + 1);
  });

  test("replays a batch sent again with its items' keys reordered", async () => {
    const app = appWith();
    const before = await stream.count();
    const key = `${tag}-batch-reserialized`;
    const batch = (items: unknown[]) => send(app, "/v1/notifications/batch", { body: { notifications: items }, headers: { "idempotency-key": key } });
    const reversed = (o: object) => Object.fromEntries(Object.entries(o).reverse());
    const first = await batch([VALID.sms, VALID.in_app]);
    const again = await batch([reversed(VALID.sms), reversed(VALID.in_app)]);
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.headers.get("idempotency-replayed")).toBe("true");
    expect(await again.text()).toBe(await first.text());
    expect((await batch([VALID.in_app, VALID.sms])).status).toBe(422);
    expect(await stream.count()).toBe(before + 2);
  });

  test("keeps keys apart per tenant", async () => {
    const app = appWith();
    const key = `${tag}-tenant`;
    const mine = (await (await post(app, key)).json()) as { id: string };
    const theirs = await post(app, key, VALID.email, OTHER_KEY);
    expect(theirs.headers.get("idempotency-replayed")).toBeNull();
    expect(((await theirs.json()) as { id: string }).id).not.toBe(mine.id);
  });

  test("serves a GET right after the 202 from the store (read-your-writes)", async () => {
    const app = appWith();
    const { id } = (await (await post(app, `${tag}-ryw`)).json()) as { id: string };
    const view = (await (await send(app, `/v1/notifications/${id}`)).json()) as { id: string; status: string };
    expect(view).toMatchObject({ id, status: "accepted" });
  });
});
