// What status webhooks cost per lifecycle event: the processor's fan-out loop
// (processor/status-webhooks/dispatcher.ts, in this process) reads stored
// events from a fresh durable and turns each into one delivery row per
// matching endpoint. A: the events' tenants have no endpoints (the cost every
// deployment pays once the feature exists); B: each tenant has `endpoints`.
// Rounds alternate A and B (A B, then B A) so the box's drift falls on both;
// the deliveries a B round made are deleted before the next round, untimed.
// CPU is this process's (the loop, the NATS client, postgres.js), not Postgres's.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { sql } from "drizzle-orm";
import pino from "pino";
import { createEndpoint } from "../../lib/db/webhook-endpoints.ts";
import { runDispatcher } from "../../processor/status-webhooks/dispatcher.ts";
import { lifecycleEvent } from "../../schemas/events.ts";
import { topology } from "../../schemas/subjects.ts";
import { createStack } from "../../test/support/stack.ts";
import type { Cleanup } from "../lib/cleanup.ts";
import type { FanoutRun, FanoutVariant } from "../types.ts";

export interface FanoutOptions {
  /** Events per variant, stored once and read by every round. */
  events: number;
  tenants: number;
  /** Endpoints per tenant in variant B. */
  endpoints: number;
  rounds: number;
  /** In-flight publishes while the events are stored. */
  window: number;
}

type Log = (line: string) => void;
const TOKEN_SECRET = "bench fan-out token secret, 32+ characters long";

export async function fanoutPhase(nc: NatsConnection, opts: FanoutOptions, cleanup: Cleanup, log: Log): Promise<FanoutRun> {
  const stack = await createStack();
  cleanup.defer("fan-out stack", () => stack.cleanup());
  const topo = topology(stack.namespace);
  const db = stack.db.db;
  const by = { actor: "bench", clientAddress: null };
  for (let t = 0; t < opts.tenants; t++) {
    for (let e = 0; e < opts.endpoints; e++) {
      await createEndpoint(db, TOKEN_SECRET, `with-${t}`, { url: `https://hooks.example.com/${t}/${e}`, eventTypes: ["*"], enabled: true }, by);
    }
  }
  // A's events on `accepted`, B's on `sent`: each round's consumer filters to its variant's subject.
  const js = jetstream(nc);
  const subjects = { A: topo.eventSubject("accepted"), B: topo.eventSubject("sent") } as const;
  const started = performance.now();
  let inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < opts.events; i++) {
    for (const [variant, type] of [
      ["A", "accepted"],
      ["B", "sent"],
    ] as const) {
      const tenant = `${variant === "A" ? "without" : "with"}-${i % opts.tenants}`;
      const ev = lifecycleEvent(type, { id: crypto.randomUUID(), tenantId: tenant, userId: `u-${i}`, channel: "email" });
      inFlight.push(js.publish(subjects[variant], JSON.stringify(ev), { msgID: ev.eventId }));
    }
    if (inFlight.length >= opts.window) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  const publishS = (performance.now() - started) / 1000;
  log(`fan-out: ${opts.events} events per variant stored in ${publishS.toFixed(1)} s`);

  const jsm = await jetstreamManager(nc);
  const silent = pino({ level: "silent" });
  const runs: Record<"A" | "B", Array<{ eventsPerS: number; cpuUsPerEvent: number; deliveries: number }>> = { A: [], B: [] };
  const order: Array<"A" | "B"> = [];
  for (let r = 0; r < opts.rounds; r++) order.push(...(r % 2 === 0 ? (["A", "B"] as const) : (["B", "A"] as const)));
  for (const [i, variant] of order.entries()) {
    const durable = `fanout_${variant}_${i}`;
    await jsm.consumers.add(topo.streams.events, {
      durable_name: durable,
      filter_subject: subjects[variant],
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: 4096,
    });
    const consumer = await js.consumers.get(topo.streams.events, durable);
    let events = 0;
    let deliveries = 0;
    let cpu = { user: 0, system: 0 };
    let seconds = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await runDispatcher(
      {
        db,
        consumer,
        log: silent,
        queued: () => {},
        onBatch(e, d) {
          events += e;
          deliveries += d;
          // Stopped here, not when the loop ends: its last fetch waits out its expiry on an empty stream.
          if (events >= opts.events && seconds === 0) {
            seconds = (performance.now() - t0) / 1000;
            cpu = process.cpuUsage(cpu0);
          }
        },
      },
      () => events >= opts.events,
    );
    runs[variant].push({ eventsPerS: events / seconds, cpuUsPerEvent: (cpu.user + cpu.system) / events, deliveries });
    log(
      `fan-out ${variant} round ${i + 1}: ${Math.round(events / seconds)} events/s, ${deliveries} deliveries, ${((cpu.user + cpu.system) / events).toFixed(1)} µs CPU/event`,
    );
    await jsm.consumers.delete(topo.streams.events, durable);
    await db.execute(sql`delete from webhook_deliveries`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const summary = (v: "A" | "B", endpoints: number): FanoutVariant => ({
    endpointsPerTenant: endpoints,
    eventsPerS: median(runs[v].map((x) => x.eventsPerS)),
    cpuUsPerEvent: median(runs[v].map((x) => x.cpuUsPerEvent)),
    deliveriesPerRound: runs[v][0]?.deliveries ?? 0,
    rounds: runs[v].map((x) => Math.round(x.eventsPerS)),
  });
  return { events: opts.events, tenants: opts.tenants, publishS, none: summary("A", 0), some: summary("B", opts.endpoints) };
}
