import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { claim, writeOutcomes } from "../lib/db/notification-repository.ts";
import { CHANNELS } from "../schemas/enums.ts";
import { LifecycleEvent } from "../schemas/events.ts";
import { createSinkRecorder } from "./channels/index.ts";
import { eventually } from "../test/support/eventually.ts";
import { createHarness, envelope, testSenders, type Harness } from "../test/support/processor-harness.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../test/support/webhook-receiver.ts";

let h: Harness;
let receiver: WebhookReceiver;
const sink = createSinkRecorder(100);

beforeAll(async () => {
  h = await createHarness();
  receiver = startWebhookReceiver();
  await h.start(testSenders(sink));
});
afterAll(async () => {
  await h.cleanup();
  await receiver.stop();
});

const sentRow = (id: string) => eventually(async () => ((await h.row(id))?.status === "sent" ? h.row(id) : null), { label: `${id} sent` });

describe("processor", () => {
  test("sends one notification per channel: row sent, one attempt, a sent event", async () => {
    const envs = CHANNELS.map((channel) =>
      envelope({ channel, ...(channel === "webhook" ? { payload: { url: receiver.url("/hook"), body: { n: 1 } } } : {}) }),
    );
    await Promise.all(envs.map((e) => h.publish(e)));
    for (const e of envs) {
      const row = await sentRow(e.id);
      expect(row?.attempts).toBe(1);
      expect(row?.sentAt).toBeInstanceOf(Date);
      const attempts = await h.attempts(e.id);
      expect(attempts.map((a) => [a.attempt, a.outcome, a.provider])).toEqual([
        [1, "sent", e.channel === "webhook" ? "webhook" : e.channel === "in_app" ? "inbox" : "sink"],
      ]);
    }
    expect(receiver.hits(envs.find((e) => e.channel === "webhook")?.id ?? "")).toBe(1);
    expect(sink.entries().length).toBe(4);
    const events = await eventually(async () => {
      const all = (await h.readStream(h.topo.streams.events)).filter((m) => m.subject === h.topo.eventSubject("sent"));
      return all.length >= envs.length ? all : null;
    });
    const parsed = events.map((m) => LifecycleEvent.parse(m.data));
    expect(new Set(parsed.map((ev) => ev.id))).toEqual(new Set(envs.map((e) => e.id)));
    expect(parsed.every((ev) => ev.attempt === 1)).toBe(true);
  });

  test("a redelivered sent notification is acked without a second send or row", async () => {
    const e = envelope({ channel: "webhook", payload: { url: receiver.url("/hook"), body: {} } });
    await h.publish(e, "first");
    await sentRow(e.id);
    await h.publish(e, "second");
    await eventually(() => h.laneIdle(), { label: "an idle lane" });
    expect(receiver.hits(e.id)).toBe(1);
    expect((await h.attempts(e.id)).length).toBe(1);
    expect((await h.row(e.id))?.attempts).toBe(1);
  });

  test("a row finished by a processor that stopped before its events went out: the message's next delivery publishes them", async () => {
    const e = envelope({ channel: "webhook", payload: { url: receiver.url("/hook"), body: {} }, correlationId: "lost-events", metadata: { k: "v" } });
    // What the stopped processor committed: the claim and the sent outcome, and no event.
    const { createdAt } = (await claim(h.db.sql, [e], Date.now())).rows.get(e.id) ?? { createdAt: "" };
    await writeOutcomes(h.db.sql, [
      { id: e.id, createdAt, attempt: 1, provider: "webhook", outcome: "sent", latencyMs: 3, status: "sent", error: null, providerMessageId: null },
    ]);
    await h.publish(e);
    const mine = await eventually(async () => {
      const all = (await h.readStream(h.topo.streams.events)).map((m) => LifecycleEvent.parse(m.data)).filter((ev) => ev.id === e.id);
      return all.length >= 2 ? all : null;
    });
    expect(mine.map((ev) => ev.type)).toEqual(["accepted", "sent"]);
    expect(mine[1]).toMatchObject({ attempt: 1, eventId: `${e.id}:sent:1`, correlationId: "lost-events", metadata: { k: "v" } });
    expect(Date.parse(mine[1]?.at ?? "")).toBe((await h.row(e.id))?.updatedAt.getTime() ?? 0);
    expect(receiver.hits(e.id)).toBe(0);
  });

  test("a scheduled notification waits until it is due", async () => {
    const due = Date.now() + 1500;
    const e = envelope({ scheduledFor: new Date(due).toISOString() });
    await h.publish(e);
    await eventually(async () => (await h.row(e.id))?.status === "scheduled");
    await Bun.sleep(500);
    expect((await h.row(e.id))?.status).toBe("scheduled");
    const row = await eventually(async () => ((await h.row(e.id))?.status === "sent" ? h.row(e.id) : null), { timeoutMs: 4000 });
    expect(row?.sentAt?.getTime()).toBeGreaterThanOrEqual(due);
    expect(sink.entries().filter((s) => s.id === e.id).length).toBe(1);
  });

  test("an invalid envelope goes to the DLQ, leaves no row, and the lane keeps going", async () => {
    await h.publishRaw(h.topo.sendSubject("normal", "email"), JSON.stringify({ v: 1, id: "not-a-uuid" }));
    await h.publishRaw(h.topo.sendSubject("normal", "email"), "{garbage");
    const next = envelope({ channel: "email" });
    await h.publish(next);
    await sentRow(next.id);
    const dlq = await eventually(async () => {
      const all = await h.readStream(h.topo.streams.dlq);
      return all.length >= 2 ? all : null;
    });
    expect(dlq.map((m) => m.subject)).toEqual([h.topo.dlqSubject("email"), h.topo.dlqSubject("email")]);
    expect(dlq.map((m) => (m.data as { reason: string }).reason)).toEqual(["invalid", "invalid"]);
    expect(await h.row("not-a-uuid").catch(() => undefined)).toBeUndefined();
    await eventually(() => h.laneIdle(), { label: "an idle lane" }); // termed, not left pending
  });

  test("a second id with the same idempotency key is never sent, and ends failed and dead-lettered with the reason", async () => {
    const first = envelope({ idempotencyKey: "order-1" });
    const second = envelope({ idempotencyKey: "order-1" });
    await h.publish(first);
    await sentRow(first.id);
    await h.publish(second);
    await eventually(() => h.laneIdle(), { label: "an idle lane" });
    expect(await h.row(second.id)).toMatchObject({
      status: "failed",
      idempotencyKey: null,
      lastError: expect.stringContaining("idempotency key already names another notification"),
    });
    expect(sink.entries().filter((s) => s.id === second.id).length).toBe(0);
    const dlq = await eventually(async () =>
      (await h.readStream(h.topo.streams.dlq)).find((m) => (m.data as { envelope?: { id: string } }).envelope?.id === second.id),
    );
    expect(dlq.data).toMatchObject({ reason: "failed", error: expect.stringContaining("idempotency key") });
  });
});
