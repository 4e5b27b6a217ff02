// The events a running Herald publishes are the contract docs/events.md and
// schemas/json/lifecycle-event.v1.schema.json describe: every type in the
// schema is published, and every published event validates against the
// committed JSON Schema.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Validator, type Schema } from "@cfworker/json-schema";
import { jetstreamManager } from "@nats-io/jetstream";
import { EVENT_TYPES } from "../schemas/enums.ts";
import type { LifecycleEvent } from "../schemas/events.ts";
import committed from "../schemas/json/lifecycle-event.v1.schema.json";
import { eventually } from "./support/eventually.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { svixHeaders } from "./support/provider-signatures.ts";
import { connectTestNats, topology } from "./support/services.ts";
import { createStack, get, post, type Stack } from "./support/stack.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

const RESEND_KEY = "re_contract_0123456789";
const RESEND_SECRET = `whsec_${Buffer.from("resend-contract-secret-0123").toString("base64")}`;

/** A Resend that takes every email and names it, as its `POST /emails` does. */
function startResend() {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (new URL(req.url).pathname !== "/emails" || req.headers.get("authorization") !== `Bearer ${RESEND_KEY}`)
        return Response.json({ statusCode: 401, name: "missing_api_key", message: "Missing API key" }, { status: 401 });
      await req.json();
      return Response.json({ id: crypto.randomUUID() });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}

let stack: Stack;
let resend: ReturnType<typeof startResend>;
let hooks: WebhookReceiver;
let gateway: HeraldProcess;
let processor: HeraldProcess;

beforeAll(async () => {
  stack = await createStack();
  resend = startResend();
  hooks = startWebhookReceiver({ "/flaky": (nth) => ({ status: nth === 1 ? 503 : 200 }), "/gone": () => ({ status: 410 }) });
  processor = await startHerald("processor", {
    ...stack.env,
    HERALD_RESEND_API_KEY: RESEND_KEY,
    HERALD_RESEND_API_URL: resend.url,
    HERALD_EMAIL_FROM: "Herald <no-reply@herald.test>",
  });
  gateway = await startHerald("gateway", { ...stack.env, HERALD_RESEND_WEBHOOK_SECRET: RESEND_SECRET });
});

afterAll(async () => {
  await gateway?.signal("SIGTERM");
  await processor?.signal("SIGTERM");
  resend?.stop();
  await hooks?.stop();
  await stack?.cleanup();
});

async function accept(body: Record<string, unknown>): Promise<string> {
  const res = await post(gateway.url, "/v1/notifications", body, { "x-request-id": "contract-run-1" });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function reaches(id: string, status: string): Promise<void> {
  await eventually(async () => ((await (await get(gateway.url, `/v1/notifications/${id}`)).json()) as { status: string }).status === status || null, {
    timeoutMs: 15_000,
  });
}

async function providerMessageId(id: string): Promise<string> {
  const { data } = (await (await get(gateway.url, `/v1/notifications/${id}/attempts`)).json()) as { data: { providerMessageId: string | null }[] };
  return data.at(-1)?.providerMessageId ?? "";
}

async function resendReports(type: string, emailId: string): Promise<void> {
  const body = JSON.stringify({ type, created_at: new Date().toISOString(), data: { email_id: emailId, bounce: { type: "Permanent", subType: "General" } } });
  const res = await fetch(`${gateway.url}/v1/callbacks/resend`, {
    method: "POST",
    headers: { "content-type": "application/json", ...svixHeaders(RESEND_SECRET, body) },
    body,
  });
  expect(res.status).toBe(200);
}

/** Every event the namespace's stream holds, in stream order. */
async function storedEvents(): Promise<unknown[]> {
  const nc = await connectTestNats();
  try {
    const jsm = await jetstreamManager(nc);
    const stream = topology(stack.namespace).streams.events;
    const { state } = await jsm.streams.info(stream);
    const out: unknown[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      if (m !== null) out.push(m.json());
    }
    return out;
  } finally {
    await nc.close();
  }
}

describe("the published events are the documented contract", () => {
  test("a run through every state publishes every event type, each valid against the committed JSON Schema and carrying what it promises", async () => {
    const metadata = { orderId: "o-42" };
    const delivered = await accept({ userId: "u-1", channel: "email", payload: { to: "ok@herald.test", subject: "Hi", body: "Hello" }, metadata });
    const bounced = await accept({ userId: "u-2", channel: "email", payload: { to: "gone@herald.test", subject: "Hi", body: "Hello" } });
    const retried = await accept({ userId: "u-3", channel: "webhook", payload: { url: hooks.url("/flaky"), body: { n: 1 } } });
    const failed = await accept({ userId: "u-4", channel: "webhook", payload: { url: hooks.url("/gone"), body: { n: 2 } } });
    const later = await accept({
      userId: "u-5",
      channel: "in_app",
      payload: { title: "Later", body: "…" },
      scheduledFor: new Date(Date.now() + 3_600_000).toISOString(),
    });
    // Cancelled once the processor holds it, so it was `scheduled` first.
    await eventually(async () => ((await storedEvents()) as LifecycleEvent[]).some((e) => e.id === later && e.type === "scheduled") || null, {
      timeoutMs: 10_000,
    });
    expect((await post(gateway.url, `/v1/notifications/${later}/cancel`, {})).status).toBe(200);
    for (const id of [delivered, bounced, retried]) await reaches(id, "sent");
    await reaches(failed, "failed");
    await resendReports("email.delivered", await providerMessageId(delivered));
    await resendReports("email.bounced", await providerMessageId(bounced));
    await reaches(bounced, "bounced");
    // The bounce suppressed the address: the next email to it is never sent.
    const suppressed = await accept({ userId: "u-2", channel: "email", payload: { to: "gone@herald.test", subject: "Again", body: "Hello" } });
    await reaches(suppressed, "suppressed");

    const ids = [delivered, bounced, retried, failed, later, suppressed];
    const events = await eventually(
      async () => {
        const all = (await storedEvents()) as LifecycleEvent[];
        const last = new Map(all.map((e) => [e.id, e.type]));
        return last.get(delivered) === "delivered" && last.get(suppressed) === "suppressed" && last.get(later) === "cancelled" ? all : null;
      },
      { timeoutMs: 10_000 },
    );

    const validator = new Validator(committed as unknown as Schema, "2020-12", false);
    for (const ev of events) {
      const result = validator.validate(ev);
      if (!result.valid) throw new Error(`event ${JSON.stringify(ev)} is not valid: ${JSON.stringify(result.errors.slice(0, 3))}`);
    }
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(EVENT_TYPES));
    expect(new Set(events.map((e) => e.id))).toEqual(new Set(ids));
    // One event per eventId: the stream dropped every copy.
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);

    const of = (id: string, type: string) => events.find((e) => e.id === id && e.type === type);
    expect(of(delivered, "accepted")).toMatchObject({ correlationId: "contract-run-1", metadata });
    expect(of(delivered, "sent")).toMatchObject({ provider: "resend", attempt: 1, correlationId: "contract-run-1", metadata });
    expect(of(delivered, "sent")?.providerMessageId).toBe(await providerMessageId(delivered));
    expect(of(delivered, "delivered")).toMatchObject({ provider: "resend", providerMessageId: await providerMessageId(delivered), metadata });
    expect(of(retried, "retrying")).toMatchObject({ attempt: 1, provider: "webhook" });
    expect(of(retried, "sent")).toMatchObject({ attempt: 2 });
    expect(of(failed, "failed")?.error).toContain("410");
    expect(of(later, "scheduled")).toBeDefined();
    // `accepted` is stamped with the gateway's acceptance, so a copy of it is the same event.
    const view = (await (await get(gateway.url, `/v1/notifications/${delivered}`)).json()) as { createdAt: string };
    expect(Date.parse(of(delivered, "accepted")?.at ?? "")).toBe(Date.parse(view.createdAt));
  });
});
