import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { notifications, type NewNotificationRow } from "../../schemas/tables.ts";
import { createApp } from "../app.ts";
import { uuidv7 } from "../ids.ts";
import { publishEvent } from "../../lib/nats/event-publisher.ts";
import { OTHER_KEY } from "../../test/support/constants.ts";
import { createAppFixture, send, VALID, type AppFixture } from "../../test/support/gateway-fixture.ts";

let f: AppFixture;
let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  f = await createAppFixture();
  // The events stream of this namespace, so the `cancelled` event can be read back from JetStream.
  await f.jsm.streams.add({ name: f.topo.streams.events, subjects: [f.topo.wildcards.events] });
  app = createApp({ ...f.deps, events: { publish: (ev) => publishEvent(f.out, f.topo, ev) } });
});
afterAll(async () => {
  await f.cleanup();
});

function row(overrides: Partial<NewNotificationRow> = {}): NewNotificationRow {
  return {
    id: uuidv7(),
    tenantId: "acme",
    userId: "user-c",
    channel: "sms",
    type: "transactional",
    priority: "normal",
    status: "scheduled",
    payload: { to: "+14155550100", body: "x" },
    ...overrides,
  };
}

const cancel = (id: string, key?: string) => send(app, `/v1/notifications/${id}/cancel`, { method: "POST", ...(key ? { key } : {}) });

async function statusOf(id: string): Promise<string | undefined> {
  const [r] = await f.db.db.select({ status: notifications.status }).from(notifications).where(eq(notifications.id, id));
  return r?.status;
}

/** The `cancelled` events stored for `id` on the events stream. */
async function cancelledEvents(id: string): Promise<unknown[]> {
  const info = await f.jsm.streams.info(f.topo.streams.events);
  const found: unknown[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await f.jsm.streams.getMessage(f.topo.streams.events, { seq });
    const event = m?.json<{ id: string; type: string }>();
    if (event?.id === id && m?.subject === f.topo.eventSubject("cancelled")) found.push(event);
  }
  return found;
}

describe("POST /v1/notifications/:id/cancel", () => {
  test("cancels a scheduled or retrying notification, answers it, and publishes one cancelled event", async () => {
    for (const status of ["scheduled", "retrying"] as const) {
      const r = row({ status, attempts: status === "retrying" ? 1 : 0 });
      await f.db.db.insert(notifications).values(r);
      const res = await cancel(r.id);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: r.id, status: "cancelled", channel: "sms", userId: "user-c" });
      expect(await statusOf(r.id)).toBe("cancelled");
      expect(await cancelledEvents(r.id)).toEqual([
        expect.objectContaining({ v: 1, type: "cancelled", id: r.id, tenantId: "acme", userId: "user-c", channel: "sms" }),
      ]);
    }
  });

  test("is idempotent: cancelling again answers 200 and publishes nothing more", async () => {
    const r = row();
    await f.db.db.insert(notifications).values(r);
    expect((await cancel(r.id)).status).toBe(200);
    const again = await cancel(r.id);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { status: string }).status).toBe("cancelled");
    expect((await cancelledEvents(r.id)).length).toBe(1);
  });

  test("answers 409 problem+json while it is being sent and once it is sent or failed, and changes nothing", async () => {
    for (const status of ["processing", "sent", "failed"] as const) {
      const r = row({ status });
      await f.db.db.insert(notifications).values(r);
      const res = await cancel(r.id);
      expect(res.status).toBe(409);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(((await res.json()) as { detail: string }).detail).toContain(status);
      expect(await statusOf(r.id)).toBe(status);
    }
  });

  test("cancels one accepted moments ago that the processor has not recorded yet, so it is never sent", async () => {
    const accepted = await send(app, "/v1/notifications", { body: VALID.push });
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };
    expect(await statusOf(id)).toBeUndefined();
    const res = await cancel(id);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id, status: "cancelled", channel: "push", priority: "high" });
    // The row now stands in the way of the processor's insert: it reads `cancelled` and acks.
    expect(await statusOf(id)).toBe("cancelled");
    expect(((await (await send(app, `/v1/notifications/${id}`)).json()) as { status: string }).status).toBe("cancelled");
  });

  test("answers 404 for an unknown id, a malformed one, and another tenant's", async () => {
    const r = row();
    await f.db.db.insert(notifications).values(r);
    expect((await cancel(uuidv7())).status).toBe(404);
    expect((await cancel("not-a-uuid")).status).toBe(404);
    expect((await cancel(r.id, OTHER_KEY)).status).toBe(404);
    expect(await statusOf(r.id)).toBe("scheduled");
  });

  test("needs an API key", async () => {
    expect((await send(app, `/v1/notifications/${uuidv7()}/cancel`, { method: "POST", key: null })).status).toBe(401);
  });
});
