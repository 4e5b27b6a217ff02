import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { createDeliveryReports } from "../../lib/db/delivery-reports.ts";
import { publishEvent } from "../../lib/nats/event-publisher.ts";
import { keyOf, suppressedAmong } from "../../lib/db/suppressions.ts";
import type { Channel, Status } from "../../schemas/enums.ts";
import type { LifecycleEvent } from "../../schemas/events.ts";
import { deliveryAttempts, notifications, suppressions } from "../../schemas/tables.ts";
import { createAppFixture, type AppFixture } from "../../test/support/gateway-fixture.ts";
import { signTwilio, svixHeaders } from "../../test/support/provider-signatures.ts";
import { createApp } from "../app.ts";
import { uuidv7 } from "../ids.ts";
import type { CallbackAnswer } from "./callbacks.ts";

const TOKEN = "twilio-auth-token";
// What Twilio was given; the gateway itself is reached at another URL (a proxy in between).
const CALLBACK_URL = "https://herald.example.com/v1/callbacks/twilio";
const SECRET = `whsec_${btoa("resend signing secret, 32 bytes!")}`;

let f: AppFixture;
let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  f = await createAppFixture();
  await f.jsm.streams.add({ name: f.topo.streams.events, subjects: [f.topo.wildcards.events] });
  app = createApp({
    ...f.deps,
    events: { publish: (ev) => publishEvent(f.out, f.topo, ev) },
    callbacks: { reports: createDeliveryReports(f.db.sql), twilio: { authToken: TOKEN, callbackUrl: CALLBACK_URL }, resend: { secret: SECRET } },
  });
});
afterAll(async () => {
  await f.cleanup();
});

/** A notification in `status` that `provider` accepted under a fresh message id. */
async function sent(opts: { provider: "twilio" | "resend"; status?: Status; tenantId?: string; to?: string }) {
  const id = uuidv7();
  const messageId = opts.provider === "twilio" ? `SM${crypto.randomUUID().replaceAll("-", "")}` : crypto.randomUUID();
  const channel: Channel = opts.provider === "twilio" ? "sms" : "email";
  const payload = channel === "sms" ? { to: opts.to ?? "+14155550100", body: "Hi" } : { to: opts.to ?? "Someone@Example.com", subject: "Hi", body: "Hello" };
  const createdAt = new Date();
  await f.db.db.insert(notifications).values({
    id,
    createdAt,
    tenantId: opts.tenantId ?? "acme",
    userId: "user-cb",
    channel,
    type: "transactional",
    priority: "normal",
    status: opts.status ?? "sent",
    payload,
    attempts: 1,
    sentAt: new Date(),
  });
  await f.db.db.insert(deliveryAttempts).values({
    notificationId: id,
    notificationCreatedAt: createdAt,
    attempt: 1,
    provider: opts.provider,
    outcome: "sent",
    latencyMs: 4,
    providerMessageId: messageId,
  });
  return { id, messageId };
}

async function rowOf(id: string) {
  const [row] = await f.db.db.select({ status: notifications.status, lastError: notifications.lastError }).from(notifications).where(eq(notifications.id, id));
  return row;
}

/** The lifecycle events stored for `id`. */
async function eventsOf(id: string): Promise<LifecycleEvent[]> {
  const info = await f.jsm.streams.info(f.topo.streams.events);
  const found: LifecycleEvent[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await f.jsm.streams.getMessage(f.topo.streams.events, { seq });
    const event = m?.json<LifecycleEvent>();
    if (event?.id === id && m?.subject === f.topo.eventSubject(event.type)) found.push(event);
  }
  return found;
}

function twilio(params: Record<string, string>, signature: string | null = signTwilio(TOKEN, CALLBACK_URL, params), to = app) {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (signature !== null) headers["x-twilio-signature"] = signature;
  return to.request("/v1/callbacks/twilio", { method: "POST", headers, body: new URLSearchParams(params).toString() });
}

function resend(event: unknown, opts: { at?: Date; secret?: string; unsigned?: boolean } = {}) {
  const body = JSON.stringify(event);
  const signed = opts.unsigned ? {} : svixHeaders(opts.secret ?? SECRET, body, opts.at);
  return app.request("/v1/callbacks/resend", { method: "POST", headers: { "content-type": "application/json", ...signed }, body });
}

const status = (sid: string, MessageStatus: string, extra: Record<string, string> = {}) => ({
  AccountSid: `AC${"0".repeat(32)}`,
  MessageSid: sid,
  SmsSid: sid,
  MessageStatus,
  To: "+14155550100",
  ApiVersion: "2010-04-01",
  ...extra,
});

async function expectProblem(res: Response, code: string, httpStatus: number): Promise<{ detail: string }> {
  expect(res.status).toBe(httpStatus);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as { type: string; detail: string };
  expect(body.type).toBe(`https://herald.dev/problems/${code}`);
  return body;
}

describe("POST /v1/callbacks/twilio", () => {
  test("a signed delivered moves a sent SMS to delivered and publishes the delivered event, with no API key", async () => {
    const n = await sent({ provider: "twilio" });
    const res = await twilio(status(n.messageId, "delivered"));
    expect(res.status).toBe(200);
    expect((await res.json()) as CallbackAnswer).toEqual({
      result: "applied",
      detail: "Moved to delivered",
      notifications: [{ id: n.id, status: "delivered" }],
      suppressed: 0,
    });
    expect(await rowOf(n.id)).toEqual({ status: "delivered", lastError: null });
    expect(await eventsOf(n.id)).toEqual([expect.objectContaining({ v: 1, type: "delivered", id: n.id, tenantId: "acme", userId: "user-cb", channel: "sms" })]);
  });

  test("undelivered moves it to bounced with Twilio's error code as the reason, in the row and the event", async () => {
    const n = await sent({ provider: "twilio" });
    const res = await twilio(status(n.messageId, "undelivered", { ErrorCode: "30003" }));
    expect(((await res.json()) as CallbackAnswer).notifications).toEqual([{ id: n.id, status: "bounced" }]);
    expect(await rowOf(n.id)).toEqual({ status: "bounced", lastError: "twilio 30003" });
    expect(await eventsOf(n.id)).toEqual([expect.objectContaining({ type: "bounced", error: "twilio 30003" })]);
    // The suppression of a bounced SMS number is not Twilio's callback's call.
    expect(await f.db.db.select().from(suppressions).where(eq(suppressions.notificationId, n.id))).toEqual([]);
  });

  test("a forged or missing signature, or one over another URL, is a 401 problem and changes nothing", async () => {
    const n = await sent({ provider: "twilio" });
    const params = status(n.messageId, "delivered");
    const forged = await expectProblem(await twilio(params, signTwilio("not-the-token", CALLBACK_URL, params)), "invalid_signature", 401);
    expect(forged.detail).toContain("X-Twilio-Signature");
    const unsigned = await expectProblem(await twilio(params, null), "invalid_signature", 401);
    expect(unsigned.detail).toContain("no X-Twilio-Signature");
    await expectProblem(await twilio(params, signTwilio(TOKEN, "http://localhost/v1/callbacks/twilio", params)), "invalid_signature", 401);
    // Signed, then a parameter changed on the way.
    await expectProblem(await twilio({ ...params, MessageStatus: "undelivered" }, signTwilio(TOKEN, CALLBACK_URL, params)), "invalid_signature", 401);
    expect(await rowOf(n.id)).toEqual({ status: "sent", lastError: null });
    expect(await eventsOf(n.id)).toEqual([]);
  });

  test("the steps before delivery, and an unknown MessageSid, answer 200 ignored and change nothing", async () => {
    const n = await sent({ provider: "twilio" });
    for (const step of ["queued", "sending", "sent"]) {
      const answer = (await (await twilio(status(n.messageId, step))).json()) as CallbackAnswer;
      expect(answer).toEqual({ result: "ignored", detail: `MessageStatus ${step} changes nothing`, notifications: [], suppressed: 0 });
    }
    const unknown = await twilio(status(`SM${"f".repeat(32)}`, "delivered"));
    expect(unknown.status).toBe(200);
    expect(((await unknown.json()) as CallbackAnswer).detail).toStartWith("No notification was sent through twilio");
    expect(await rowOf(n.id)).toEqual({ status: "sent", lastError: null });
  });

  test("a delivered after undelivered leaves it bounced (200 ignored) and publishes nothing more", async () => {
    const n = await sent({ provider: "twilio" });
    await twilio(status(n.messageId, "undelivered", { ErrorCode: "30005" }));
    const late = await twilio(status(n.messageId, "delivered"));
    expect(await late.json()).toEqual({
      result: "ignored",
      detail: "The notification is bounced; a delivered report does not move it",
      notifications: [],
      suppressed: 0,
    });
    expect(await rowOf(n.id)).toEqual({ status: "bounced", lastError: "twilio 30005" });
    expect((await eventsOf(n.id)).map((e) => e.type)).toEqual(["bounced"]);
  });

  test("answers 503 naming the keys when Twilio's are not configured, or when nothing is wired", async () => {
    const off = createApp({ ...f.deps, callbacks: { reports: createDeliveryReports(f.db.sql), resend: { secret: SECRET } } });
    const params = status("SM1", "delivered");
    expect((await expectProblem(await twilio(params, undefined, off), "unavailable", 503)).detail).toContain(
      "TWILIO_AUTH_TOKEN and TWILIO_STATUS_CALLBACK_URL",
    );
    expect((await expectProblem(await twilio(params, undefined, createApp(f.deps)), "unavailable", 503)).detail).toContain("not wired");
  });
});

describe("POST /v1/callbacks/resend", () => {
  const event = (type: string, emailId: string, data: Record<string, unknown> = {}) => ({
    type,
    created_at: "2026-12-08T10:00:00.000Z",
    data: { email_id: emailId, to: ["someone@example.com"], subject: "Hi", ...data },
  });

  test("email.delivered moves a sent email to delivered and publishes the event at the provider's time", async () => {
    const n = await sent({ provider: "resend" });
    const res = await resend(event("email.delivered", n.messageId));
    expect(((await res.json()) as CallbackAnswer).notifications).toEqual([{ id: n.id, status: "delivered" }]);
    expect((await rowOf(n.id))?.status).toBe("delivered");
    expect(await eventsOf(n.id)).toEqual([expect.objectContaining({ type: "delivered", channel: "email", at: "2026-12-08T10:00:00.000Z" })]);
  });

  test("email.bounced moves it to bounced with the bounce as reason and suppresses the address for that tenant only", async () => {
    const n = await sent({ provider: "resend", to: "  Bounced@Example.com" });
    const elsewhere = await sent({ provider: "resend", tenantId: "beta", to: "bounced@example.com" });
    const bounce = { type: "Permanent", subType: "General", message: "550 5.1.1 no such user" };
    const res = await resend(event("email.bounced", n.messageId, { bounce }));
    expect(await res.json()).toEqual({ result: "applied", detail: "Moved to bounced", notifications: [{ id: n.id, status: "bounced" }], suppressed: 1 });
    const reason = "resend bounce Permanent/General: 550 5.1.1 no such user";
    expect(await rowOf(n.id)).toEqual({ status: "bounced", lastError: reason });
    expect(await eventsOf(n.id)).toEqual([expect.objectContaining({ type: "bounced", error: reason })]);
    const acme = { tenantId: "acme", channel: "email" as const, address: "bounced@example.com" };
    const beta = { ...acme, tenantId: "beta" };
    const found = await suppressedAmong(f.db.sql, [acme, beta]);
    expect([...found.keys()]).toEqual([keyOf(acme)]);
    expect(found.get(keyOf(acme))).toEqual({ reason, source: "bounce" });
    expect((await rowOf(elsewhere.id))?.status).toBe("sent");
  });

  test("email.complained suppresses the address and leaves the status as it is", async () => {
    const n = await sent({ provider: "resend", status: "delivered", to: "complainer@example.com" });
    const res = await resend(event("email.complained", n.messageId));
    expect(await res.json()).toEqual({ result: "applied", detail: "The recipient's address is suppressed", notifications: [], suppressed: 1 });
    expect((await rowOf(n.id))?.status).toBe("delivered");
    expect(await eventsOf(n.id)).toEqual([]);
    const key = { tenantId: "acme", channel: "email" as const, address: "complainer@example.com" };
    expect((await suppressedAmong(f.db.sql, [key])).get(keyOf(key))?.source).toBe("complaint");
  });

  test("a stale, unsigned or wrongly signed event is a 401 problem and changes nothing", async () => {
    const n = await sent({ provider: "resend" });
    const body = event("email.bounced", n.messageId);
    const stale = await expectProblem(await resend(body, { at: new Date(Date.now() - 6 * 60_000) }), "invalid_signature", 401);
    expect(stale.detail).toContain("too old");
    await expectProblem(await resend(body, { unsigned: true }), "invalid_signature", 401);
    await expectProblem(await resend(body, { secret: `whsec_${btoa("some other signing secret...")}` }), "invalid_signature", 401);
    expect(await rowOf(n.id)).toEqual({ status: "sent", lastError: null });
    expect(await f.db.db.select().from(suppressions).where(eq(suppressions.notificationId, n.id))).toEqual([]);
    expect(await eventsOf(n.id)).toEqual([]);
  });

  test("an unknown email_id answers 200 ignored and changes nothing; other event types are ignored", async () => {
    const before = await f.db.db.select().from(suppressions);
    const unknown = crypto.randomUUID();
    for (const type of ["email.delivered", "email.bounced", "email.complained"]) {
      const res = await resend(event(type, unknown));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        result: "ignored",
        detail: `No notification was sent through resend with the id ${unknown}`,
        notifications: [],
        suppressed: 0,
      });
    }
    expect(await f.db.db.select().from(suppressions)).toEqual(before);
    const n = await sent({ provider: "resend" });
    expect(((await (await resend(event("email.opened", n.messageId))).json()) as CallbackAnswer).detail).toBe("Events of type email.opened change nothing");
    expect((await rowOf(n.id))?.status).toBe("sent");
  });

  test("a delivered after a bounce leaves it bounced, whichever order they arrive in", async () => {
    const n = await sent({ provider: "resend" });
    await resend(event("email.bounced", n.messageId, { bounce: { type: "Permanent", message: "gone" } }));
    const late = (await (await resend(event("email.delivered", n.messageId))).json()) as CallbackAnswer;
    expect(late.result).toBe("ignored");
    expect(await rowOf(n.id)).toEqual({ status: "bounced", lastError: "resend bounce Permanent: gone" });
    expect((await eventsOf(n.id)).map((e) => e.type)).toEqual(["bounced"]);
  });

  test("a signed body that is not an event is a 400; an unconfigured secret a 503", async () => {
    await expectProblem(await resend({ data: {} }), "invalid_body", 400);
    const off = createApp({ ...f.deps, callbacks: { reports: createDeliveryReports(f.db.sql) } });
    const body = JSON.stringify(event("email.delivered", "x"));
    const res = await off.request("/v1/callbacks/resend", { method: "POST", headers: svixHeaders(SECRET, body), body });
    expect((await expectProblem(res, "unavailable", 503)).detail).toContain("HERALD_RESEND_WEBHOOK_SECRET");
  });
});

test("other /v1 routes still need the API key", async () => {
  expect((await app.request("/v1/callbacks/unknown", { method: "POST" })).status).toBe(401);
  expect((await app.request("/v1/notifications")).status).toBe(401);
});
