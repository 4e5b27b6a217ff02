import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApp } from "../app.ts";
import { PublishUnavailableError, type Publisher } from "../../lib/nats/work.ts";
import { createMemoryStore } from "../store/memory.ts";
import { createAppFixture, send, VALID, type AppFixture } from "../../test/support/gateway-fixture.ts";

let f: AppFixture;
beforeAll(async () => {
  f = await createAppFixture();
});
afterAll(async () => {
  await f.cleanup();
});

type Result =
  | { index: number; status: "accepted"; id: string; acceptedAt: string }
  | { index: number; status: "rejected"; error: { status: number; title: string; errors?: { path: string }[] } };

async function batch(items: unknown[], headers: Record<string, string> = {}, app = f.app) {
  const res = await send(app, "/v1/notifications/batch", { body: { notifications: items }, headers });
  return { res, body: (await res.clone().json()) as { results: Result[] } };
}

describe("POST /v1/notifications/batch", () => {
  test("answers 207 with one result per item, in input order, publishing only the valid ones", async () => {
    const before = await f.count();
    const bad = { ...VALID.email, payload: { to: "nope", subject: "s", body: "b" } };
    const { res, body } = await batch([VALID.email, bad, VALID.sms, { channel: "pigeon" }, VALID.push]);
    expect(res.status).toBe(207);
    expect(body.results.map((r) => [r.index, r.status])).toEqual([
      [0, "accepted"],
      [1, "rejected"],
      [2, "accepted"],
      [3, "rejected"],
      [4, "accepted"],
    ]);
    expect(body.results[1]).toMatchObject({ error: { status: 400, errors: [{ path: "payload.to" }] } });
    expect(body.results[3]).toMatchObject({ error: { status: 400, errors: [{ path: "channel" }] } });
    expect(await f.count()).toBe(before + 3);
  });

  test("answers 202 when every item is accepted, each published with its own id", async () => {
    const before = await f.count();
    const { res, body } = await batch([VALID.email, VALID.webhook, VALID.in_app]);
    expect(res.status).toBe(202);
    const ids = body.results.map((r) => (r.status === "accepted" ? r.id : ""));
    expect(new Set(ids).size).toBe(3);
    for (const [i, id] of ids.entries()) expect((await f.message(before + 1 + i)).msgId).toBe(`acme:${id}`);
  });

  test("dedupes items as '<tenant>:<key> <index>' under a batch Idempotency-Key and replays the whole answer", async () => {
    const before = await f.count();
    const items = [VALID.email, { bad: true }, VALID.sms];
    const first = await batch(items, { "idempotency-key": "batch-1" });
    const again = await batch(items, { "idempotency-key": "batch-1" });
    expect(first.res.status).toBe(207);
    expect(again.res.status).toBe(207);
    expect(again.res.headers.get("idempotency-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    expect(await f.count()).toBe(before + 2);
    const stored = await Promise.all([f.message(before + 1), f.message(before + 2)]);
    expect(stored.map((m) => (m.msgId ?? "").replace(/:[0-9a-f]{32}$/, "")).sort()).toEqual(["acme:batch-1 0", "acme:batch-1 2"]);
    expect(stored.map((m) => m.envelope.idempotencyKey).sort()).toEqual(["batch-1 0", "batch-1 2"]);
    expect((await batch([VALID.push], { "idempotency-key": "batch-1" })).res.status).toBe(422);
  });

  test("rejects only the item whose publish failed, with 503, and the others stand", async () => {
    const failing: Publisher = {
      publish: (envelope, msgId) =>
        envelope.userId === "unlucky" ? Promise.reject(new PublishUnavailableError("down")) : f.publisher.publish(envelope, msgId),
    };
    const app = createApp({ ...f.deps, store: createMemoryStore(), publisher: failing });
    const before = await f.count();
    const { res, body } = await batch([VALID.email, { ...VALID.email, userId: "unlucky" }, VALID.sms], {}, app);
    expect(res.status).toBe(207);
    expect(body.results.map((r) => r.status)).toEqual(["accepted", "rejected", "accepted"]);
    expect(body.results[1]).toMatchObject({ error: { status: 503 } });
    expect(await f.count()).toBe(before + 2);
  });

  test("makes every accepted item readable right away", async () => {
    const { body } = await batch([VALID.email, VALID.in_app]);
    for (const r of body.results) {
      if (r.status !== "accepted") throw new Error("expected accepted");
      const view = (await (await send(f.app, `/v1/notifications/${r.id}`)).json()) as { status: string };
      expect(view.status).toBe("accepted");
    }
  });

  test("publishes a full batch of 1,000 items", async () => {
    const before = await f.count();
    const items = Array.from({ length: 1000 }, (_, i) => ({ ...VALID.in_app, userId: `bulk-${i}` }));
    const { res, body } = await batch(items);
    expect(res.status).toBe(202);
    expect(body.results.every((r, i) => r.index === i && r.status === "accepted")).toBe(true);
    expect(await f.count()).toBe(before + 1000);
  });

  test("needs an API key like every /v1 route", async () => {
    const res = await send(f.app, "/v1/notifications/batch", { body: { notifications: [VALID.email] }, key: null });
    expect(res.status).toBe(401);
  });

  test("allows a body 16× the single limit, no more", async () => {
    const app = createApp({ ...f.deps, options: { bodyLimitBytes: 1024 } });
    const item = { ...VALID.in_app, payload: { title: "t", body: "x".repeat(1000) } };
    expect((await send(app, "/v1/notifications", { body: item })).status).toBe(413);
    expect((await batch([item, item, item], {}, app)).res.status).toBe(202);
    expect((await batch(Array(20).fill(item), {}, app)).res.status).toBe(413);
  });
});
