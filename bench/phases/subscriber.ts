// How fast @herald/events consumes: N lifecycle events (two per notification,
// accepted then sent, as the processor publishes them) stored on an events
// stream of the phase's own namespace, then read from the start by a fresh
// consumer per variant: a handler that returns at once or one that awaits
// 1 ms (a stand-in for a fast write), at concurrency 1 and 64. Variants run
// in turns for `rounds` rounds, so the box's drift falls on all of them; a
// bare JetStream consume-and-ack loop over the same events is the ceiling.
// Each also reports the harness process's CPU time per event, steadier than
// events/s on a shared box. The 1 ms handler at concurrency 1 reads a tenth of the events: it is bound
// by its handler at under 1,000 events/s, and the whole stream would take minutes.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { subscribe } from "@herald/events";
import { createEventsStream, testEvent } from "../../test/support/events-stream.ts";
import type { Cleanup } from "../lib/cleanup.ts";
import type { SubscriberRun, SubscriberVariant } from "../types.ts";

export interface SubscriberOptions {
  events: number;
  rounds: number;
  /** In-flight publishes while the events are stored. */
  window: number;
}

type Log = (line: string) => void;

const VARIANTS: Array<Pick<SubscriberVariant, "handler" | "concurrency">> = [
  { handler: "none", concurrency: 1 },
  { handler: "none", concurrency: 64 },
  { handler: "1 ms", concurrency: 1 },
  { handler: "1 ms", concurrency: 64 },
];

async function store(js: JetStreamClient, subject: (type: "accepted" | "sent") => string, events: number, window: number): Promise<void> {
  let inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < events / 2; i++) {
    const id = crypto.randomUUID();
    const t0 = Date.now();
    for (const [k, type] of (["accepted", "sent"] as const).entries()) {
      const ev = testEvent(type, { id, at: new Date(t0 + k).toISOString() });
      inFlight.push(js.publish(subject(type), JSON.stringify(ev), { msgID: ev.eventId }));
    }
    if (inFlight.length >= window) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
}

interface Rate {
  eventsPerS: number;
  /** This process's CPU time per event: steadier than events/s on a busy box. */
  cpuUs: number;
}

/** The rate of one subscription reading `events` from the start of the stream. */
async function consume(base: { connection: NatsConnection; namespace: string }, v: (typeof VARIANTS)[number], events: number): Promise<Rate> {
  const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 1));
  let handled = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const count = () => {
    handled += 1;
    if (handled === events) done();
  };
  const started = performance.now();
  const cpu = process.cpuUsage();
  const sub = await subscribe({
    connection: base.connection,
    namespace: base.namespace,
    startAt: "all",
    concurrency: v.concurrency,
    handler: v.handler === "none" ? count : async () => pause().then(count),
  });
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await sub.close();
  return { eventsPerS: events / seconds, cpuUs: (used.user + used.system) / events };
}

/** The ceiling: a pull consumer's messages acked as they come, nothing parsed. */
async function bare(s: Awaited<ReturnType<typeof createEventsStream>>, events: number): Promise<Rate> {
  const jsm = await jetstreamManager(s.nc);
  const info = await jsm.consumers.add(s.topo.streams.events, { ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, inactive_threshold: 60e9 });
  const consumer = await jetstream(s.nc).consumers.get(s.topo.streams.events, info.name);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const messages = await consumer.consume({ max_messages: 256 });
  let n = 0;
  for await (const m of messages) {
    m.ack();
    if (++n === events) break;
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await jsm.consumers.delete(s.topo.streams.events, info.name).catch(() => false);
  return { eventsPerS: events / seconds, cpuUs: (used.user + used.system) / events };
}

export async function subscriberPhase(opts: SubscriberOptions, cleanup: Cleanup, log: Log): Promise<SubscriberRun> {
  const s = await createEventsStream();
  cleanup.defer("subscriber phase's events stream", () => s.cleanup());
  const publishStarted = performance.now();
  await store(jetstream(s.nc), (type) => s.topo.eventSubject(type), opts.events, opts.window);
  const publishS = (performance.now() - publishStarted) / 1000;
  log(`subscriber: ${opts.events} events stored in ${publishS.toFixed(1)} s`);
  const runs = new Map<string, Rate[]>();
  const bareRuns: Rate[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    bareRuns.push(await bare(s, opts.events));
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const v of order) {
      const events = v.handler === "1 ms" && v.concurrency === 1 ? Math.floor(opts.events / 10) : opts.events;
      const rate = await consume({ connection: s.nc, namespace: s.namespace }, v, events);
      const key = `${v.handler}/${v.concurrency}`;
      runs.set(key, [...(runs.get(key) ?? []), rate]);
      log(
        `subscriber: round ${round + 1}, handler ${v.handler}, concurrency ${v.concurrency}: ${Math.round(rate.eventsPerS)} events/s, ${rate.cpuUs.toFixed(1)} µs CPU an event`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const rates = (key: string) => runs.get(key) ?? [];
  return {
    events: opts.events,
    rounds: opts.rounds,
    publishS,
    bareEventsPerS: median(bareRuns.map((r) => r.eventsPerS)),
    bareCpuUs: median(bareRuns.map((r) => r.cpuUs)),
    variants: VARIANTS.map((v) => ({
      ...v,
      events: v.handler === "1 ms" && v.concurrency === 1 ? Math.floor(opts.events / 10) : opts.events,
      eventsPerS: median(rates(`${v.handler}/${v.concurrency}`).map((r) => r.eventsPerS)),
      cpuUs: median(rates(`${v.handler}/${v.concurrency}`).map((r) => r.cpuUs)),
    })),
  };
}
