import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { inboxSentAfter } from "../../lib/db/reads.ts";
import { createInboxTokens } from "../../lib/inbox-token.ts";
import { createInboxFeed, createInboxFeedPublisher } from "../../lib/nats/inbox-feed.ts";
import type { InboxFeedItem } from "../../schemas/inbox-feed.ts";
import { notifications, type NewNotificationRow } from "../../schemas/tables.ts";
import { TENANT_KEY } from "../../test/support/constants.ts";
import { createAppFixture, send, type AppFixture } from "../../test/support/gateway-fixture.ts";
import { createApp } from "../app.ts";
import type { InboxStreamDeps } from "../context.ts";
import { uuidv7 } from "../ids.ts";

const SECRET = "inbox-stream-test-secret-0123456789";
const tokens = createInboxTokens(SECRET);
let f: AppFixture;
let off: AppFixture["app"];
const user = `stream-user-${uuidv7()}`;

/** A delivered in-app row, sent `n` seconds into the minute. */
function row(n: number, overrides: Partial<NewNotificationRow> = {}): NewNotificationRow {
  const at = new Date(Date.UTC(2026, 10, 26, 6, 0, n));
  return {
    id: uuidv7(),
    tenantId: "acme",
    userId: user,
    channel: "in_app",
    type: "system",
    priority: "normal",
    status: "sent",
    payload: { title: `T${n}`, body: `B${n}` },
    sentAt: at,
    createdAt: at,
    ...overrides,
  };
}
// Created oldest first; the third was retried and sent last of all.
const rows = [row(1), row(2), row(3, { sentAt: new Date(Date.UTC(2026, 10, 26, 6, 0, 9)) }), row(4)];
const sentOrder = [rows[0], rows[1], rows[3], rows[2]].map((r) => r?.id);

beforeAll(async () => {
  f = await createAppFixture();
  const inboxStream: InboxStreamDeps = {
    tokenSecret: SECRET,
    tokenTtlSeconds: 900,
    feed: createInboxFeed(f.nc, f.topo),
    sentAfter: (tenant, userId, afterId, limit) => inboxSentAfter(f.db.db, tenant, userId, afterId, limit),
    heartbeatMs: 200,
  };
  f = { ...f, app: createApp({ ...f.deps, inboxStream }) };
  off = createApp({ ...f.deps, inboxStream: { ...inboxStream, tokenSecret: undefined } as InboxStreamDeps });
  await f.db.db.insert(notifications).values([...rows, row(5, { userId: "someone-else" }), row(6, { status: "processing" })]);
});
afterAll(async () => {
  await f.cleanup();
});

/** Opens the stream and collects its events until `close()`. */
async function open(query: string, headers: Record<string, string> = {}) {
  const res = await f.app.request(`/v1/inbox/stream?${query}`, { headers });
  const events: Array<{ event?: string; id?: string; data?: string }> = [];
  const comments: string[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const done = (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      for (let end = buf.indexOf("\n\n"); end >= 0; end = buf.indexOf("\n\n")) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const fields: Record<string, string> = {};
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) comments.push(line);
          else fields[line.slice(0, line.indexOf(":"))] = line.slice(line.indexOf(":") + 2);
        }
        if (fields.event) events.push(fields);
      }
    }
  })();
  return {
    res,
    events,
    comments,
    ids: () => events.map((e) => e.id),
    async until(n: number, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < n && Date.now() < deadline) await Bun.sleep(10);
    },
    async close() {
      await reader.cancel();
      await done;
    },
  };
}

const token = async (userId = user, tenant = "acme") => (await tokens.mint(tenant, userId, 60)).token;
const publish = (item: InboxFeedItem, userId = user) => createInboxFeedPublisher(f.nc, f.topo).publish("acme", userId, item);
const live = (title: string): InboxFeedItem => ({ id: uuidv7(), title, body: "b", data: { k: 1 }, createdAt: new Date().toISOString() });

describe("POST /v1/inbox/tokens", () => {
  test("mints a token for the tenant's user, its life cut to the configured maximum", async () => {
    const res = await send(f.app, "/v1/inbox/tokens", { body: { userId: user, ttlSeconds: 86_400 } });
    expect(res.status).toBe(200);
    const { token, expiresAt } = (await res.json()) as { token: string; expiresAt: string };
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(900_000);
    expect(await tokens.verify(token)).toMatchObject({ ok: true, claims: { tenant: "acme", userId: user } });
  });

  test("needs the API key and a user id", async () => {
    expect((await send(f.app, "/v1/inbox/tokens", { body: { userId: user }, key: null })).status).toBe(401);
    expect((await send(f.app, "/v1/inbox/tokens", { body: { ttlSeconds: 60 } })).status).toBe(400);
  });

  test("answers 503 naming HERALD_TOKEN_SECRET when the gateway has none, and so does the stream", async () => {
    const minted = await send(off, "/v1/inbox/tokens", { body: { userId: user } });
    expect(minted.status).toBe(503);
    expect(((await minted.json()) as { detail: string }).detail).toContain("HERALD_TOKEN_SECRET");
    expect((await off.request(`/v1/inbox/stream?token=${await token()}`)).status).toBe(503);
  });
});

describe("GET /v1/inbox/stream", () => {
  test("answers 401 problem+json without a token, with a forged or expired one, and with the API key", async () => {
    const forged = (await createInboxTokens("y".repeat(32)).mint("acme", user, 60)).token;
    const expired = (await tokens.mint("acme", user, 60, Date.now() - 120_000)).token;
    for (const [query, headers] of [
      ["", {}],
      [`token=${forged}`, {}],
      [`token=${expired}`, {}],
      [`token=${TENANT_KEY}`, {}],
      ["", { authorization: `Bearer ${TENANT_KEY}` }],
    ] as const) {
      const res = await f.app.request(`/v1/inbox/stream?${query}`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
  });

  test("an inbox token is not an API key anywhere else", async () => {
    const t = await token();
    expect((await send(f.app, `/v1/inbox?userId=${user}`, { key: t })).status).toBe(401);
    expect((await send(f.app, "/v1/inbox/tokens", { body: { userId: user }, key: t })).status).toBe(401);
  });

  test("streams an item published on the user's subject, with the retry hint and heartbeats, open to any origin", async () => {
    const s = await open(`token=${await token()}`, { origin: "https://app.example.com" });
    expect(s.res.status).toBe(200);
    expect(s.res.headers.get("content-type")).toBe("text/event-stream");
    expect(s.res.headers.get("access-control-allow-origin")).toBe("*");
    await Bun.sleep(50);
    const item = live("live one");
    publish(live("someone else's"), "someone-else");
    publish(item);
    await s.until(1);
    await Bun.sleep(300);
    await s.close();
    expect(s.events).toEqual([{ event: "notification", id: item.id, data: JSON.stringify(item) }]);
    expect(s.comments).toContain(": heartbeat");
  });

  test("the Bearer header works as well as the query", async () => {
    const s = await open("", { authorization: `Bearer ${await token()}` });
    expect(s.res.status).toBe(200);
    await s.close();
  });

  test("with Last-Event-ID replays what was sent after it, in sending order, then live items without repeats", async () => {
    const s = await open(`token=${await token()}`, { "last-event-id": rows[0]?.id ?? "" });
    await s.until(3);
    // Published live after the replay: the repeat of a replayed one is dropped, the new one passes.
    const fresh = live("fresh");
    const again = rows[2];
    publish({ id: again?.id ?? "", title: "T3", body: "B3", data: null, createdAt: again?.createdAt?.toISOString() ?? "" });
    publish(fresh);
    await s.until(4);
    await Bun.sleep(100);
    await s.close();
    expect(s.ids()).toEqual([...sentOrder.slice(1), fresh.id]);
    expect(JSON.parse(s.events[0]?.data ?? "{}")).toEqual({
      id: rows[1]?.id,
      title: "T2",
      body: "B2",
      data: null,
      createdAt: rows[1]?.createdAt?.toISOString(),
    });
  });

  test("?lastEventId= does the same; an unknown id replays nothing", async () => {
    const s = await open(`token=${await token()}&lastEventId=${rows[3]?.id}`);
    await s.until(1);
    const unknown = await open(`token=${await token()}&lastEventId=${uuidv7()}`);
    await Bun.sleep(200);
    await Promise.all([s.close(), unknown.close()]);
    expect(s.ids()).toEqual([rows[2]?.id]);
    expect(unknown.events).toEqual([]);
  });

  test("another user's token sees none of this user's items", async () => {
    const s = await open(`token=${await token("someone-else")}&lastEventId=${rows[0]?.id}`);
    await Bun.sleep(50);
    publish(live("not yours"));
    await Bun.sleep(200);
    await s.close();
    expect(s.events).toEqual([]);
  });
});

describe("CORS with an allow-list (options.corsOrigins)", () => {
  const allowed = "https://app.example.com";
  const listed = () => createApp({ ...f.deps, options: { corsOrigins: [allowed, "https://admin.example.com"] } });

  test("echoes an allowed origin, even on an error a browser must be able to read", async () => {
    const res = await listed().request("/v1/inbox/stream", { headers: { origin: allowed } });
    expect(res.status).toBe(503);
    expect(res.headers.get("access-control-allow-origin")).toBe(allowed);
    expect(res.headers.get("vary")).toContain("Origin");
  });

  test("gives another origin no Access-Control-Allow-Origin", async () => {
    const res = await listed().request("/v1/inbox/stream", { headers: { origin: "https://evil.example.net" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("answers a preflight from an allowed origin with the methods and headers", async () => {
    const res = await listed().request("/v1/inbox/stream", {
      method: "OPTIONS",
      headers: { origin: allowed, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(allowed);
    expect(res.headers.get("access-control-allow-methods")).toBe("GET");
    expect(res.headers.get("access-control-allow-headers")).toBe("Authorization,Last-Event-ID");
  });

  test("without a list, or with `*` in it, any origin is allowed as before", async () => {
    for (const app of [createApp(f.deps), createApp({ ...f.deps, options: { corsOrigins: ["*"] } })]) {
      const res = await app.request("/v1/inbox/stream", { headers: { origin: "https://anywhere.example" } });
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
    }
  });
});
