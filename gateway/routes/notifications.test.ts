import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Envelope } from "../../schemas/envelope.ts";
import { CHANNELS } from "../../schemas/enums.ts";
import { sha256Hex } from "../body.ts";
import { idForKey, uuidv7Time } from "../ids.ts";
import { createAppFixture, send, VALID, type AppFixture } from "../../test/support/gateway-fixture.ts";

let f: AppFixture;
beforeAll(async () => {
  f = await createAppFixture();
});
afterAll(async () => {
  await f.cleanup();
});

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UUIDV8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("POST /v1/notifications", () => {
  test.each([...CHANNELS])("accepts a valid %s notification only after it is in the stream", async (channel) => {
    const before = await f.count();
    const res = await send(f.app, "/v1/notifications", { body: VALID[channel], headers: { "idempotency-key": `happy-${channel}` } });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; status: string; acceptedAt: string };
    expect(body.id).toMatch(UUIDV8);
    expect(body.id).toBe(await idForKey(sha256Hex, "acme", `happy-${channel}`));
    expect(body.status).toBe("accepted");
    expect(await f.count()).toBe(before + 1);
    const stored = await f.message(before + 1);
    const envelope = Envelope.parse(stored.envelope);
    expect(stored.subject).toBe(f.topo.sendSubject(envelope.priority, channel));
    // The key and the body's hash: a retry is dropped by the stream, the key with another body is not.
    expect(stored.msgId).toMatch(new RegExp(`^acme:happy-${channel}:[0-9a-f]{32}$`));
    expect(envelope).toMatchObject({ id: body.id, tenantId: "acme", channel, idempotencyKey: `happy-${channel}`, acceptedAt: body.acceptedAt });
    expect(stored.msgId).toBe(`acme:happy-${channel}:${envelope.requestHash?.slice(0, 32)}`);
  });

  test("uses the id as Nats-Msg-Id when there is no Idempotency-Key, and fills the defaults", async () => {
    const before = await f.count();
    const res = await send(f.app, "/v1/notifications", { body: VALID.email });
    const { id, acceptedAt } = (await res.json()) as { id: string; acceptedAt: string };
    expect(id).toMatch(UUIDV7);
    expect(Math.abs(uuidv7Time(id) - Date.parse(acceptedAt))).toBeLessThan(2);
    const stored = await f.message(before + 1);
    expect(stored.msgId).toBe(`acme:${id}`);
    expect(stored.envelope).toMatchObject({ type: "transactional", priority: "normal", metadata: null, idempotencyKey: null, scheduledFor: null });
  });

  test("answers scheduled for a future scheduledFor and normalises it to UTC", async () => {
    const year = new Date().getUTCFullYear() + 1;
    const res = await send(f.app, "/v1/notifications", { body: { ...VALID.in_app, scheduledFor: `${year}-01-01T12:00:00+02:00` } });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; status: string };
    expect(body.status).toBe("scheduled");
    const view = (await (await send(f.app, `/v1/notifications/${body.id}`)).json()) as { status: string; scheduledFor: string };
    expect(view).toMatchObject({ status: "scheduled", scheduledFor: `${year}-01-01T10:00:00.000Z` });
  });

  test("carries the caller's X-Request-Id back and into the envelope as correlationId", async () => {
    const before = await f.count();
    const res = await send(f.app, "/v1/notifications", { body: VALID.sms, headers: { "x-request-id": "req-abc-1" } });
    expect(res.headers.get("x-request-id")).toBe("req-abc-1");
    expect((await f.message(before + 1)).envelope.correlationId).toBe("req-abc-1");
  });

  test("a GET right after the 202 answers accepted, before any row exists (read-your-writes), before any row exists (read-your-writes)", async () => {
    const res = await send(f.app, "/v1/notifications", { body: VALID.in_app, headers: { "x-request-id": "ryw-1" } });
    const { id, acceptedAt } = (await res.json()) as { id: string; acceptedAt: string };
    const got = await send(f.app, `/v1/notifications/${id}`);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({
      id,
      userId: "user-1",
      channel: "in_app",
      type: "system",
      priority: "normal",
      status: "accepted",
      attempts: 0,
      lastError: null,
      createdAt: acceptedAt,
      updatedAt: acceptedAt,
      sentAt: null,
      scheduledFor: null,
      metadata: { orderId: "o-1" },
      correlationId: "ryw-1",
    });
  });
});
