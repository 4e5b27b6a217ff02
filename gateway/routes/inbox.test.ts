import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { notifications, type NewNotificationRow } from "../../schemas/tables.ts";
import { uuidv7 } from "../ids.ts";
import { OTHER_KEY } from "../../test/support/constants.ts";
import { createAppFixture, send, type AppFixture } from "../../test/support/gateway-fixture.ts";

let f: AppFixture;
const user = `inbox-user-${uuidv7()}`;

/** Rows as the processor leaves them; createdAt one second apart, newest last. */
function row(n: number, overrides: Partial<NewNotificationRow> = {}): NewNotificationRow {
  return {
    id: uuidv7(),
    tenantId: "acme",
    userId: user,
    channel: "in_app",
    type: "system",
    priority: "normal",
    status: "sent",
    payload: { title: `Title ${n}`, body: `Body ${n}`, data: { n } },
    sentAt: new Date(Date.UTC(2026, 10, 26, 6, 0, n)),
    createdAt: new Date(Date.UTC(2026, 10, 26, 6, 0, n)),
    ...overrides,
  };
}

const delivered = [row(1), row(2), row(3)];
const others = [
  row(4, { status: "processing" }), // not delivered yet
  row(5, { channel: "email", payload: { to: "a@example.com", subject: "s", body: "b" } }), // another channel
  row(6, { userId: "someone-else" }),
  row(7, { tenantId: "beta" }),
];

beforeAll(async () => {
  f = await createAppFixture();
  await f.db.db.insert(notifications).values([...delivered, ...others]);
});
afterAll(async () => {
  await f.cleanup();
});

type Page = { data: { id: string; title: string; body: string; data: unknown; readAt: string | null }[]; nextCursor: string | null; unreadCount: number };
const list = async (query: string, key?: string) => (await send(f.app, `/v1/inbox?${query}`, key ? { key } : {})).json() as Promise<Page>;

describe("/v1/inbox", () => {
  test("lists a user's delivered in-app notifications, newest first, with title, body and data, paged", async () => {
    const first = await list(`userId=${user}&limit=2`);
    expect(first.data.map((i) => i.title)).toEqual(["Title 3", "Title 2"]);
    expect(first.data[0]).toMatchObject({ id: delivered[2]?.id, body: "Body 3", data: { n: 3 }, readAt: null });
    expect(first.unreadCount).toBe(3);
    const second = await list(`userId=${user}&limit=2&cursor=${first.nextCursor}`);
    expect(second.data.map((i) => i.title)).toEqual(["Title 1"]);
    expect(second.nextCursor).toBeNull();
  });

  test("marks one read (the first time stays), filters unread, and another tenant cannot touch it", async () => {
    const id = delivered[1]?.id ?? "";
    expect((await send(f.app, `/v1/inbox/${id}/read`, { method: "POST", key: OTHER_KEY })).status).toBe(404);
    const read = await send(f.app, `/v1/inbox/${id}/read`, { method: "POST" });
    expect(read.status).toBe(200);
    const { readAt } = (await read.json()) as { readAt: string };
    expect(readAt).toBeString();
    const again = (await (await send(f.app, `/v1/inbox/${id}/read`, { method: "POST" })).json()) as { readAt: string };
    expect(again.readAt).toBe(readAt);
    const unread = await list(`userId=${user}&unread=true`);
    expect(unread.data.map((i) => i.title)).toEqual(["Title 3", "Title 1"]);
    expect(unread.unreadCount).toBe(2);
  });

  test("answers 404 for what is not a delivered in-app notification of the tenant", async () => {
    for (const r of others.filter((o) => o.tenantId === "acme" && o.userId === user)) {
      expect((await send(f.app, `/v1/inbox/${r.id}/read`, { method: "POST" })).status).toBe(404);
    }
    expect((await send(f.app, "/v1/inbox/not-a-uuid/read", { method: "POST" })).status).toBe(404);
  });

  test("marks all of a user's read at once and says how many were unread", async () => {
    const res = await send(f.app, "/v1/inbox/read-all", { body: { userId: user } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ marked: 2 });
    expect((await list(`userId=${user}`)).unreadCount).toBe(0);
    expect((await list("userId=someone-else")).unreadCount).toBe(1);
  });

  test("validates: userId is required, unread is true or false, a cursor must be ours", async () => {
    const res = await send(f.app, "/v1/inbox?unread=maybe");
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { type: string; errors: { path: string }[] };
    expect(problem.type).toBe("https://herald.dev/problems/invalid_query");
    expect(problem.errors.map((e) => e.path).sort()).toEqual(["unread", "userId"]);
    const cursor = await send(f.app, `/v1/inbox?userId=${user}&cursor=bm9wZQ`);
    expect(cursor.status).toBe(400);
    expect(((await cursor.json()) as { type: string }).type).toBe("https://herald.dev/problems/invalid_query");
    const body = await send(f.app, "/v1/inbox/read-all", { body: {} });
    expect(body.status).toBe(400);
    expect(((await body.json()) as { type: string }).type).toBe("https://herald.dev/problems/invalid_body");
    expect((await send(f.app, "/v1/inbox?userId=x", { key: null })).status).toBe(401);
  });
});
