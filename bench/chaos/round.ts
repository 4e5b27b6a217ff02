// One fault's round: steady load, the fault, readiness, steady load again,
// then the accounting once every accepted notification is final.
import { inArray } from "drizzle-orm";
import { isTerminal, type Status } from "../../schemas/enums.ts";
import { notifications } from "../../schemas/tables.ts";
import type { Fault } from "./faults.ts";
import type { ChaosStack } from "./herald-cluster.ts";
import { startLoad, type LoadResult } from "./load.ts";

export interface ChaosPlan {
  quick: boolean;
  /** Seconds of load before the fault and after recovery. */
  steadyS: number;
  /** How long an outage (node down, Redis down, provider failing) lasts. */
  outageMs: number;
  /** Requests started per second. */
  rate: number;
  inFlight: number;
}

export interface RoundResult {
  fault: string;
  detail: string;
  accepted: number;
  fiveXx: number;
  fiveXxUnkeyed: number;
  acceptedUnkeyed: number;
  dropped: number;
  gaveUp: number;
  splitKeys: number;
  receivedUnique: number;
  receivedTwice: number;
  lost: number;
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
  const detail = await fault.inject(stack, plan.outageMs);
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
    fiveXxUnkeyed: sent.fiveXxUnkeyed,
    acceptedUnkeyed: sent.acceptedUnkeyed,
    dropped: sent.dropped,
    gaveUp: sent.gaveUp,
    splitKeys: sent.splitKeys,
    receivedUnique: settled.receivedUnique,
    receivedTwice: settled.receivedTwice,
    lost: settled.lost,
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
  lost: number;
}

/** Waits until each accepted id is final, then counts what the receiver saw of them. */
export async function settle(stack: ChaosStack, ids: string[]): Promise<Settled> {
  const statuses = await waitFinal(stack, ids);
  const finalAt = Date.now();
  // A late duplicate would arrive after the last first delivery: give it a moment.
  await Bun.sleep(1000);
  const successes = stack.receiver.successes();
  return {
    finalAt,
    statuses: statuses.counts,
    receivedUnique: ids.filter((id) => (successes.get(id) ?? 0) >= 1).length,
    receivedTwice: ids.filter((id) => (successes.get(id) ?? 0) > 1).length,
    lost: ids.filter((id) => !successes.get(id) || statuses.byId.get(id) !== "sent").length,
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
