// One fault's round: steady load, the fault, readiness, steady load again,
// then the accounting once every accepted notification is final.
import { eq, inArray } from "drizzle-orm";
import { isTerminal, type Status } from "../../schemas/enums.ts";
import { deliveryAttempts, notifications } from "../../schemas/tables.ts";
import type { Fault, Outages } from "./faults.ts";
import type { ChaosStack } from "./herald-cluster.ts";
import { startLoad, type LoadResult } from "./load.ts";

export interface ChaosPlan {
  quick: boolean;
  /** Seconds of load before the fault and after recovery. */
  steadyS: number;
  /** How long each kind of outage lasts. */
  outages: Outages;
  /** Requests started per second. */
  rate: number;
  inFlight: number;
}

export interface RoundResult {
  fault: string;
  detail: string;
  accepted: number;
  fiveXx: number;
  /** The 5xx answers by status and problem title. */
  fiveXxBy: Record<string, number>;
  fiveXxUnkeyed: number;
  acceptedUnkeyed: number;
  dropped: number;
  gaveUp: number;
  /** Schedule slots the client skipped because its in-flight bound was reached. */
  shed: number;
  splitKeys: number;
  receivedUnique: number;
  receivedTwice: number;
  /** Delivered again after the receiver did its work on a call whose sender was gone (Herald timed out, or the processor was killed): counted apart from receivedTwice. */
  twiceAfterCutOff: number;
  lost: number;
  /** For a few ids received twice or lost: what the receiver saw and the attempts Postgres recorded, to tell why. */
  samples: Sample[];
  statuses: Record<string, number>;
  recoveryS: number;
  /** Fault injected → every accepted notification final. */
  drainS: number;
}

const FINAL_TIMEOUT_MS = 120_000;

export async function runRound(stack: ChaosStack, fault: Fault, plan: ChaosPlan, log: (line: string) => void): Promise<RoundResult> {
  const load = startLoad({
    gateways: () => stack.gateways.map((g) => g.url),
    target: stack.receiver.url("/hook"),
    rate: plan.rate,
    inFlight: plan.inFlight,
    prefix: `chaos-${fault.name.replace(/\W+/g, "-")}-${Date.now()}`,
    unkeyedEvery: fault.unkeyedEvery,
  });
  await Bun.sleep(plan.steadyS * 1000);
  const injectedAt = Date.now();
  log(`${fault.name}: injecting`);
  const detail = await fault.inject(stack, plan.outages[fault.outage ?? "node"]);
  await stack.waitReady(60_000);
  const recoveryS = (Date.now() - injectedAt) / 1000;
  log(`${fault.name}: ${detail}; every process ready after ${recoveryS.toFixed(1)} s`);
  await Bun.sleep(plan.steadyS * 1000);
  const sent = await load.stop();
  return toRow(fault.name, detail, sent, await settle(stack, sent.ids), recoveryS, injectedAt);
}

/** One row of the table: what the load sent, what the receiver and Postgres show, and the times from `from` (the fault, or the load's start). */
export function toRow(fault: string, detail: string, sent: LoadResult, settled: Settled, recoveryS: number, from: number): RoundResult {
  return {
    fault,
    detail,
    accepted: sent.ids.length,
    fiveXx: sent.fiveXx,
    fiveXxBy: sent.fiveXxBy,
    fiveXxUnkeyed: sent.fiveXxUnkeyed,
    acceptedUnkeyed: sent.acceptedUnkeyed,
    dropped: sent.dropped,
    gaveUp: sent.gaveUp,
    shed: sent.shed,
    splitKeys: sent.splitKeys,
    receivedUnique: settled.receivedUnique,
    receivedTwice: settled.receivedTwice,
    twiceAfterCutOff: settled.twiceAfterCutOff,
    lost: settled.lost,
    samples: settled.samples,
    statuses: settled.statuses,
    recoveryS,
    drainS: (settled.finalAt - from) / 1000,
  };
}

export interface Settled {
  /** When every id was final (or the wait gave up). */
  finalAt: number;
  statuses: Record<string, number>;
  receivedUnique: number;
  receivedTwice: number;
  twiceAfterCutOff: number;
  lost: number;
  samples: Sample[];
}

export interface Sample {
  id: string;
  why: "received twice" | "lost";
  status: string;
  /** The receiver's calls for it: ms since the first, its answer, whether the sender was still there for it. */
  calls: Array<{ arrivedMs: number; answeredMs: number; status: number; succeeded: boolean }>;
  attempts: Array<{ attempt: number; outcome: string; latencyMs: number; error: string | null; atMs: number }>;
  /** The running processors' log lines that name it (a restarted processor's earlier lines are gone). */
  logs: Array<Record<string, unknown>>;
}

const SAMPLES = 5;

/** Waits until each accepted id is final, then counts what the receiver saw of them. */
export async function settle(stack: ChaosStack, ids: string[]): Promise<Settled> {
  const statuses = await waitFinal(stack, ids);
  const finalAt = Date.now();
  // A late duplicate would arrive after the last first delivery: give it a moment, and let
  // the calls the receiver still holds from before now (a timed-out call it is still working on) end.
  const heldDeadline = finalAt + 30_000;
  for (;;) {
    const oldest = stack.receiver.oldestHeldAt();
    if (oldest === null || oldest > finalAt || Date.now() > heldDeadline) break;
    await Bun.sleep(100);
  }
  await Bun.sleep(1000);
  const successes = stack.receiver.successes();
  const workedAfterCutOff = new Set(stack.receiver.received.filter((r) => r.status < 300 && !r.succeeded).map((r) => r.id));
  const twice = ids.filter((id) => (successes.get(id) ?? 0) > 1);
  const lost = ids.filter((id) => !successes.get(id) || statuses.byId.get(id) !== "sent");
  const picked = [
    ...twice.slice(0, SAMPLES).map((id) => ({ id, why: "received twice" as const })),
    ...lost.slice(0, SAMPLES).map((id) => ({ id, why: "lost" as const })),
  ];
  return {
    finalAt,
    samples: await Promise.all(picked.map(({ id, why }) => sampleOf(stack, id, why, statuses.byId.get(id) ?? "missing"))),
    statuses: statuses.counts,
    receivedUnique: ids.filter((id) => (successes.get(id) ?? 0) >= 1).length,
    receivedTwice: twice.length,
    twiceAfterCutOff: ids.filter((id) => workedAfterCutOff.has(id) && (successes.get(id) ?? 0) >= 1).length,
    lost: lost.length,
  };
}

async function sampleOf(stack: ChaosStack, id: string, why: Sample["why"], status: string): Promise<Sample> {
  const calls = stack.receiver.received.filter((r) => r.id === id);
  const attempts = await stack.db.db
    .select({
      attempt: deliveryAttempts.attempt,
      outcome: deliveryAttempts.outcome,
      latencyMs: deliveryAttempts.latencyMs,
      error: deliveryAttempts.error,
      at: deliveryAttempts.createdAt,
    })
    .from(deliveryAttempts)
    .where(eq(deliveryAttempts.notificationId, id))
    .orderBy(deliveryAttempts.attempt);
  const t0 = Math.min(...calls.map((c) => c.arrivedAt), ...attempts.map((a) => a.at.getTime()));
  return {
    id,
    why,
    status,
    calls: calls.map((c) => ({ arrivedMs: c.arrivedAt - t0, answeredMs: c.answeredAt - t0, status: c.status, succeeded: c.succeeded })),
    attempts: attempts.map((a) => ({ attempt: a.attempt, outcome: a.outcome, latencyMs: a.latencyMs, error: a.error, atMs: a.at.getTime() - t0 })),
    logs: stack.processors.flatMap((p, i) => p.logs.filter((l) => JSON.stringify(l).includes(id)).map((l) => ({ processor: i, ...l }))),
  };
}

/** Polls the notifications' rows until each is in a terminal status (or the timeout passes: what is not final then counts as lost). */
async function waitFinal(stack: ChaosStack, ids: string[]): Promise<{ byId: Map<string, Status>; counts: Record<string, number> }> {
  const deadline = Date.now() + FINAL_TIMEOUT_MS;
  for (;;) {
    const byId = new Map<string, Status>();
    for (let i = 0; i < ids.length; i += 5000) {
      const rows = await stack.db.db
        .select({ id: notifications.id, status: notifications.status })
        .from(notifications)
        .where(inArray(notifications.id, ids.slice(i, i + 5000)));
      for (const r of rows) byId.set(r.id, r.status);
    }
    const counts: Record<string, number> = {};
    for (const id of ids) {
      const s = byId.get(id) ?? "missing";
      counts[s] = (counts[s] ?? 0) + 1;
    }
    const final = ids.every((id) => {
      const s = byId.get(id);
      return s !== undefined && isTerminal(s);
    });
    if (final || Date.now() > deadline) return { byId, counts };
    await Bun.sleep(250);
  }
}
