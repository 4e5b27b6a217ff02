import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { deliveryAttempts, notifications, type NewNotificationRow } from "../../schemas/tables.ts";
import { uuidv7 } from "../ids.ts";
import { OTHER_KEY } from "../../test/support/constants.ts";
import { createAppFixture, send, VALID, type AppFixture } from "../../test/support/gateway-fixture.ts";

let f: AppFixture;
beforeAll(async () => {
  f = await createAppFixture();
});
afterAll(async () => {
  await f.cleanup();
});

/** A row as the processor would have written it. */
function row(overrides: Partial<NewNotificationRow> = {}): NewNotificationRow {
  return {
    id: uuidv7(),
    tenantId: "acme",
    userId: "user-db",
    channel: "email",
    type: "transactional",
    priority: "normal",
    status: "sent",
    payload: {},
    ...overrides,
  };
}

describe("GET /v1/notifications/:id", () => {
  test("answers the row's fields once Postgres has it", async () => {
    const r = row({
      status: "failed",
      attempts: 3,
      lastError: "boom",
      metadata: { k: "v" },
      correlationId: "c-1",
      sentAt: null,
      createdAt: new Date("2026-01-02T03:04:05.678Z"),
      updatedAt: new Date("2026-01-02T03:05:00.000Z"),
    });
    await f.db.db.insert(notifications).values(r);
    const body = await (await send(f.app, `/v1/notifications/${r.id}`)).json();
    expect(body).toEqual({
      id: r.id,
      userId: "user-db",
      channel: "email",
      type: "transactional",
      priority: "normal",
      status: "failed",
      attempts: 3,
      lastError: "boom",
      createdAt: "2026-01-02T03:04:05.678Z",
      updatedAt: "2026-01-02T03:05:00.000Z",
      sentAt: null,
      scheduledFor: null,
      metadata: { k: "v" },
      correlationId: "c-1",
    });
  });

  test("answers 404 for another tenant's id, whether accepted or persisted", async () => {
    const r = row();
    await f.db.db.insert(notifications).values(r);
    const { id } = (await (await send(f.app, "/v1/notifications", { body: VALID.email })).json()) as { id: string };
    for (const target of [r.id, id]) {
      const res = await send(f.app, `/v1/notifications/${target}`, { key: OTHER_KEY });
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
  });

  test("answers 404, not 500, for a malformed or unknown id", async () => {
    expect((await send(f.app, "/v1/notifications/not-a-uuid")).status).toBe(404);
    expect((await send(f.app, "/v1/notifications/'; drop table x")).status).toBe(404);
    expect((await send(f.app, `/v1/notifications/${uuidv7()}`)).status).toBe(404);
  });
});

describe("GET /v1/notifications", () => {
  test("walks every row of a user exactly once, newest first, with limit 2", async () => {
    // Two rows share a timestamp (the id breaks the tie) and two a millisecond, which a millisecond cursor would skip.
    const micros = [0, 1_000_000, 1_000_000, 1_000_100, 1_000_900, 2_000_000];
    const at = (us: number) => `2026-03-01T00:00:0${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, "0")}Z`;
    const rows = micros.map((us) => ({ ...row({ userId: "pager" }), createdAt: sql`${at(us)}::timestamptz` }));
    await f.db.db.insert(notifications).values([...rows, row({ userId: "pager", tenantId: "beta" }), row({ userId: "other" })]);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 6; page++) {
      const res = await send(f.app, `/v1/notifications?userId=pager&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      const body = (await res.json()) as { data: { id: string }[]; nextCursor: string | null };
      expect(body.data.length).toBeLessThanOrEqual(2);
      seen.push(...body.data.map((d) => d.id));
      cursor = body.nextCursor;
      if (cursor === null) break;
    }
    const expected = micros.map((us, i) => ({ us, id: rows[i]?.id ?? "" })).sort((a, b) => b.us - a.us || (b.id < a.id ? -1 : 1));
    expect(seen).toEqual(expected.map((r) => r.id));
  });

  test("filters by status", async () => {
    await f.db.db.insert(notifications).values([row({ userId: "st", status: "retrying" }), row({ userId: "st", status: "sent" })]);
    const body = (await (await send(f.app, "/v1/notifications?userId=st&status=retrying")).json()) as { data: { status: string }[] };
    expect(body.data.map((d) => d.status)).toEqual(["retrying"]);
  });

  test("refuses a bad query with the offending parameters as paths", async () => {
    const res = await send(f.app, "/v1/notifications?limit=500&status=lost");
    expect(res.status).toBe(400);
    const body = (await res.json()) as { type: string; title: string; errors: { path: string }[] };
    expect(body).toMatchObject({ type: "https://herald.dev/problems/invalid_query", title: "Invalid query string" });
    expect(body.errors.map((e) => e.path).sort()).toEqual(["limit", "status"]);
    const bad = (await (await send(f.app, "/v1/notifications?cursor=bm9wZQ")).json()) as { type: string; errors: { path: string; message: string }[] };
    expect(bad.type).toBe("https://herald.dev/problems/invalid_query");
    expect(bad.errors).toEqual([{ path: "cursor", message: expect.any(String) }]);
  });
});

describe("GET /v1/notifications/:id/attempts", () => {
  test("lists the attempts in order", async () => {
    const r = { ...row(), createdAt: new Date() };
    await f.db.db.insert(notifications).values(r);
    await f.db.db.insert(deliveryAttempts).values([
      {
        notificationId: r.id,
        notificationCreatedAt: r.createdAt,
        attempt: 2,
        provider: "smtp",
        outcome: "sent",
        latencyMs: 12,
        providerMessageId: "<m-2@example.com>",
        createdAt: new Date("2026-01-01T00:00:02Z"),
      },
      {
        notificationId: r.id,
        notificationCreatedAt: r.createdAt,
        attempt: 1,
        provider: "smtp",
        outcome: "retryable_error",
        latencyMs: 30,
        error: "timeout",
        createdAt: new Date("2026-01-01T00:00:01Z"),
      },
    ]);
    const body = await (await send(f.app, `/v1/notifications/${r.id}/attempts`)).json();
    expect(body).toEqual({
      data: [
        {
          attempt: 1,
          provider: "smtp",
          outcome: "retryable_error",
          latencyMs: 30,
          error: "timeout",
          providerMessageId: null,
          createdAt: "2026-01-01T00:00:01.000Z",
        },
        {
          attempt: 2,
          provider: "smtp",
          outcome: "sent",
          latencyMs: 12,
          error: null,
          providerMessageId: "<m-2@example.com>",
          createdAt: "2026-01-01T00:00:02.000Z",
        },
      ],
    });
    expect((await send(f.app, `/v1/notifications/${r.id}/attempts`, { key: OTHER_KEY })).status).toBe(404);
  });

  test("answers an empty list for a just-accepted notification and 404 for an unknown one", async () => {
    const { id } = (await (await send(f.app, "/v1/notifications", { body: VALID.push })).json()) as { id: string };
    expect(await (await send(f.app, `/v1/notifications/${id}/attempts`)).json()).toEqual({ data: [] });
    expect((await send(f.app, `/v1/notifications/${uuidv7()}/attempts`)).status).toBe(404);
    expect((await send(f.app, "/v1/notifications/nope/attempts")).status).toBe(404);
  });
});
