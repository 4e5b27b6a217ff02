import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createEventsStream, testEvent, type EventsStream } from "../../../test/support/events-stream.ts";
import { eventually } from "../../../test/support/eventually.ts";
import { SERVICES } from "../../../test/support/services.ts";
import type { LifecycleEvent } from "../../../schemas/events.ts";
import { subscribe, type SubscribeOptions, type Subscription } from "./subscribe.ts";

// Against the machine's NATS, each file on a namespace of its own; each test on consumers of its own.
let s: EventsStream;
const open: Subscription[] = [];

beforeAll(async () => {
  s = await createEventsStream();
});

afterAll(async () => {
  await Promise.all(open.map((sub) => sub.close()));
  await s?.cleanup();
});

type Options = Omit<SubscribeOptions, "connection" | "servers" | "namespace" | "handler"> & { handler?: SubscribeOptions["handler"] };

/** Subscribes on the test connection; events handled are collected unless a handler is given. */
async function sub(opts: Options = {}): Promise<{ sub: Subscription; seen: LifecycleEvent[] }> {
  const seen: LifecycleEvent[] = [];
  const subscription = await subscribe({
    connection: s.nc,
    namespace: s.namespace,
    startAt: "all",
    handler: (ev) => {
      seen.push(ev);
    },
    ...opts,
  });
  open.push(subscription);
  return { sub: subscription, seen };
}

/** A fresh notification's events, each 1 ms after the last. */
function lifeOf(types: LifecycleEvent["type"][], id = crypto.randomUUID()): LifecycleEvent[] {
  const t0 = Date.now();
  return types.map((type, i) => testEvent(type, { id, at: new Date(t0 + i).toISOString(), attempt: type === "retrying" ? i : undefined }));
}

/** One event of a fresh notification. */
const one = (type: LifecycleEvent["type"]): LifecycleEvent => testEvent(type);

describe("subscribe", () => {
  test("a copy of a handled event published after the stream's duplicate window is handled once", async () => {
    const ev = one("sent");
    const { sub: subscription, seen } = await sub({ startAt: "new" });
    await s.publish(ev);
    await s.publish(ev, `${ev.eventId}-late-copy`); // the stream stores it: a copy from after its window
    await eventually(async () => subscription.stats().duplicates === 1);
    expect(seen.map((e) => e.eventId)).toEqual([ev.eventId]);
  });

  test("isDuplicate lets a service dedupe against its own store: true skips and acks", async () => {
    const events = lifeOf(["accepted", "sent"]);
    const asked: string[] = [];
    const { sub: subscription, seen } = await sub({
      startAt: "new",
      isDuplicate: (ev) => {
        asked.push(ev.type);
        return ev.type === "accepted";
      },
    });
    for (const ev of events) await s.publish(ev);
    await eventually(async () => subscription.stats().handled === 1 && subscription.stats().duplicates === 1);
    expect(asked).toEqual(["accepted", "sent"]);
    expect(seen.map((e) => e.type)).toEqual(["sent"]);
  });

  test("handles one notification's events one at a time in stream order, and different notifications at once", async () => {
    const order = new Map<string, string[]>();
    const running = new Map<string, number>();
    let concurrent = 0;
    let most = 0;
    let overlapSameId = false;
    const { sub: subscription } = await sub({
      startAt: "new",
      concurrency: 8,
      handler: async (ev) => {
        const r = (running.get(ev.id) ?? 0) + 1;
        running.set(ev.id, r);
        if (r > 1) overlapSameId = true;
        concurrent += 1;
        most = Math.max(most, concurrent);
        await Bun.sleep(Math.random() * 6);
        order.set(ev.id, [...(order.get(ev.id) ?? []), ev.eventId]);
        concurrent -= 1;
        running.set(ev.id, r - 1);
      },
    });
    const lives = Array.from({ length: 12 }, () => lifeOf(["accepted", "retrying", "retrying", "sent", "delivered"]));
    const published = new Map<string, string[]>();
    // Interleaved, as the processor publishes many notifications' events.
    for (let step = 0; step < 5; step++)
      for (const life of lives) {
        const ev = life[step];
        if (!ev) continue;
        await s.publish(ev);
        published.set(ev.id, [...(published.get(ev.id) ?? []), ev.eventId]);
      }
    await eventually(async () => subscription.stats().handled === 60, { timeoutMs: 10_000 });
    expect(overlapSameId).toBe(false);
    expect(most).toBeGreaterThan(1);
    for (const [id, ids] of published) expect(order.get(id)).toEqual(ids);
  });

  test("keeps at most `concurrency` events in flight, and the server at most as many unacked", async () => {
    for (const ev of Array.from({ length: 40 }, () => testEvent("sent"))) await s.publish(ev);
    let active = 0;
    let most = 0;
    const { sub: subscription } = await sub({
      durable: "bounded",
      concurrency: 4,
      handler: async () => {
        active += 1;
        most = Math.max(most, active);
        await Bun.sleep(20);
        active -= 1;
      },
    });
    const info = await s.consumerInfo("bounded");
    expect(info.maxAckPending).toBe(4);
    let serverMost = 0;
    while (subscription.stats().handled + subscription.stats().duplicates < 40) {
      serverMost = Math.max(serverMost, (await s.consumerInfo("bounded")).ackPending);
      await Bun.sleep(10);
    }
    expect(most).toBeLessThanOrEqual(4);
    expect(subscription.stats().maxInFlight).toBeLessThanOrEqual(4);
    expect(serverMost).toBeLessThanOrEqual(4);
  });

  test("one type filters on the server; several are filtered here and the rest acked", async () => {
    const [accepted, sent] = lifeOf(["accepted", "sent"]);
    const failed = one("failed");
    const { sub: single, seen: singleSeen } = await sub({ durable: "only-sent", startAt: "new", types: ["sent"] });
    const { sub: two, seen: twoSeen } = await sub({ durable: "sent-failed", startAt: "new", types: ["sent", "failed"] });
    for (const ev of [accepted, sent, failed]) await s.publish(ev as LifecycleEvent);
    await eventually(async () => single.stats().handled === 1 && two.stats().handled === 2 && two.stats().filtered === 1);
    expect(singleSeen.map((e) => e.type)).toEqual(["sent"]);
    expect(twoSeen.map((e) => e.type)).toEqual(["sent", "failed"]);
    expect((await s.consumerInfo("only-sent")).filter).toBe(s.topo.eventSubject("sent"));
    const info = await s.consumerInfo("sent-failed");
    expect(info.filter).toBe(s.topo.wildcards.events);
    await eventually(async () => (await s.consumerInfo("sent-failed")).ackPending === 0);
  });

  test("startAt: new, all, a time and a sequence", async () => {
    const before = one("accepted");
    const seq = await s.publish(before);
    await Bun.sleep(20);
    const from = new Date();
    await Bun.sleep(20);
    const after = one("sent");
    const { sub: fresh, seen: freshSeen } = await sub({ startAt: "new" });
    await s.publish(after);
    const { sub: all, seen: allSeen } = await sub({ startAt: "all", types: ["accepted", "sent"] });
    const { sub: timed, seen: timedSeen } = await sub({ startAt: from });
    const { sub: bySeq, seen: seqSeen } = await sub({ startAt: { seq } });
    await eventually(async () => fresh.stats().handled === 1 && timed.stats().handled === 1 && bySeq.stats().handled >= 2 && all.stats().handled >= 2);
    const ids = (list: LifecycleEvent[]) => list.map((e) => e.eventId);
    expect(ids(freshSeen)).toEqual([after.eventId]);
    expect(ids(timedSeen)).toEqual([after.eventId]);
    expect(ids(seqSeen)).toEqual([before.eventId, after.eventId]);
    expect(ids(allSeen)).toContain(before.eventId);
  });

  test("a message that is not an event goes to onInvalid, is termed, and what follows is handled", async () => {
    const invalid: string[] = [];
    const { sub: subscription, seen } = await sub({ durable: "invalid", startAt: "new", onInvalid: (m) => invalid.push(m.reason) });
    await s.publishRaw(s.topo.eventSubject("sent"), "not json");
    await s.publishRaw(s.topo.eventSubject("sent"), JSON.stringify({ v: 1, type: "sent" }));
    await s.publish(one("sent"));
    await eventually(async () => seen.length === 1);
    expect(invalid[0]).toBe("not JSON");
    expect(invalid[1]).toContain("eventId");
    expect(subscription.stats().invalid).toBe(2);
    await eventually(async () => (await s.consumerInfo("invalid")).ackPending === 0);
  });

  test("a throwing handler is redelivered with backoff; one that always throws is dropped after maxDeliver", async () => {
    const [flaky, broken] = [one("sent"), one("failed")];
    const tries = new Map<string, number[]>();
    const dropped: Array<{ id: string; deliveries: number }> = [];
    const { sub: subscription } = await sub({
      startAt: "new",
      maxDeliver: 3,
      retry: { baseMs: 20, maxMs: 50 },
      handler: (ev, ctx) => {
        tries.set(ev.id, [...(tries.get(ev.id) ?? []), ctx.deliveryCount]);
        if (ev.id === broken.id || ctx.deliveryCount < 2) throw new Error("not yet");
      },
      onDropped: (ev, _err, ctx) => dropped.push({ id: ev.id, deliveries: ctx.deliveryCount }),
    });
    await s.publish(flaky);
    await s.publish(broken);
    await eventually(async () => subscription.stats().handled === 1 && dropped.length === 1, { timeoutMs: 5_000 });
    expect(tries.get(flaky.id)).toEqual([1, 2]);
    expect(tries.get(broken.id)).toEqual([1, 2, 3]);
    expect(dropped).toEqual([{ id: broken.id, deliveries: 3 }]);
  });

  test("close() lets a running handler finish and acks it; the durable resumes after it", async () => {
    const [first, second] = [one("sent"), one("sent")];
    let finished = false;
    const { sub: subscription } = await sub({
      durable: "resumable",
      startAt: "new",
      handler: async () => {
        await Bun.sleep(150);
        finished = true;
      },
    });
    await s.publish(first);
    await eventually(async () => subscription.stats().inFlight === 1);
    await subscription.close();
    expect(finished).toBe(true);
    expect(subscription.stats().handled).toBe(1);
    const info = await s.consumerInfo("resumable");
    expect(info.ackPending).toBe(0);
    await s.publish(second);
    const { sub: again, seen } = await sub({ durable: "resumable", startAt: "all" });
    await eventually(async () => again.stats().handled === 1);
    expect(seen.map((e) => e.eventId)).toEqual([second.eventId]);
  });

  test("with servers given, it connects itself; where there is no events stream it rejects", async () => {
    await expect(subscribe({ servers: SERVICES.nats, namespace: "tnoeventsstream", handler: () => {} })).rejects.toThrow(/stream not found/i);
    const [ev] = lifeOf(["sent"]);
    const own = await subscribe({ servers: SERVICES.nats, namespace: s.namespace, startAt: "new", handler: () => {} });
    open.push(own);
    await s.publish(ev as LifecycleEvent);
    await eventually(async () => own.stats().handled === 1);
    await own.close();
    await own.closed;
  });

  test("a durable that filters another subject is refused rather than reused", async () => {
    await (await sub({ durable: "fixed-filter", types: ["sent"] })).sub.close();
    await expect(sub({ durable: "fixed-filter", types: ["failed"] })).rejects.toThrow(/filters/);
  });
});
