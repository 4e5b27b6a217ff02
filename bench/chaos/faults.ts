// The faults, in the order they run: each injects, waits out its outage and
// undoes it (restarts what it killed); the round then waits for readiness.
import { WEBHOOK_TIMEOUT_MS, type ChaosStack } from "./herald-cluster.ts";

/** How long each kind of outage lasts; a plan sets them. */
export interface Outages {
  /** A NATS node, the work stream's leader or Redis down; the receiver slow. */
  node: number;
  /** The provider answering 503 or timing out. */
  provider: number;
  /** The run's Postgres stopped. */
  postgres: number;
}

export interface Fault {
  name: string;
  /** Every `unkeyedEvery`-th request of the round carries no Idempotency-Key (0: all keyed). */
  unkeyedEvery: number;
  /** Which of the plan's outages this fault lasts (default: node). */
  outage?: keyof Outages;
  inject(stack: ChaosStack, outageMs: number): Promise<string>;
}

/** SIGKILLs NATS node `node`, restarts it after the outage, and waits for the cluster's meta leader. */
async function killNode(stack: ChaosStack, node: number, role: string, outageMs: number): Promise<string> {
  await stack.cluster.kill(node, "SIGKILL");
  await Bun.sleep(outageMs);
  await stack.cluster.restart(node);
  await stack.cluster.waitForMetaLeader();
  return `${stack.cluster.nodes[node]?.name} (${role}) killed for ${outageMs} ms`;
}

export const FAULTS: readonly Fault[] = [
  {
    name: "processor SIGKILL",
    unkeyedEvery: 0,
    async inject(stack) {
      // The receiver holds each call briefly so the kill lands while sends are in flight.
      stack.answer.current = { status: 200, holdMs: 300 };
      const deadline = Date.now() + 5000;
      while (stack.receiver.inFlight() === 0 && Date.now() < deadline) await Bun.sleep(10);
      const holding = stack.receiver.inFlight();
      await stack.restartProcessor(0);
      stack.answer.current = { status: 200 };
      return `processor 0 killed with ${holding} sends (of either processor) held by the receiver, and restarted`;
    },
  },
  {
    name: "gateway SIGKILL",
    unkeyedEvery: 0,
    async inject(stack) {
      await stack.restartGateway(0);
      return "gateway 0 killed and restarted";
    },
  },
  {
    name: "NATS node SIGKILL",
    unkeyedEvery: 0,
    async inject(stack, outageMs) {
      const leader = await stack.cluster.leaderOf(stack.work);
      return killNode(stack, (leader + 1) % stack.cluster.nodes.length, "a follower", outageMs);
    },
  },
  {
    name: "work stream leader SIGKILL",
    unkeyedEvery: 0,
    async inject(stack, outageMs) {
      return killNode(stack, await stack.cluster.leaderOf(stack.work), "work leader", outageMs);
    },
  },
  {
    name: "Postgres stopped",
    unkeyedEvery: 0,
    outage: "postgres",
    async inject(stack, outageMs) {
      await stack.postgres.stop();
      await Bun.sleep(outageMs);
      await stack.postgres.start();
      return `the run's Postgres stopped (pg_ctl stop -m immediate) for ${outageMs} ms`;
    },
  },
  {
    name: "Redis SIGKILL",
    unkeyedEvery: 4,
    async inject(stack, outageMs) {
      await stack.redis.stop();
      await Bun.sleep(outageMs);
      await stack.redis.start();
      return `Redis down for ${outageMs} ms (a quarter of requests without Idempotency-Key)`;
    },
  },
  {
    name: "provider 503",
    unkeyedEvery: 0,
    outage: "provider",
    async inject(stack, outageMs) {
      stack.answer.current = { status: 503 };
      await Bun.sleep(outageMs);
      stack.answer.current = { status: 200 };
      return `receiver answered 503 for ${outageMs} ms`;
    },
  },
  {
    name: "provider timeout",
    unkeyedEvery: 0,
    outage: "provider",
    async inject(stack, outageMs) {
      // The receiver takes each call and does its work, but answers after Herald has given up on it.
      const holdMs = WEBHOOK_TIMEOUT_MS + 2000;
      stack.answer.current = { status: 200, holdMs };
      await Bun.sleep(outageMs);
      stack.answer.current = { status: 200 };
      return `receiver answered each call after ${holdMs} ms (Herald gives up at ${WEBHOOK_TIMEOUT_MS} ms) for ${outageMs} ms`;
    },
  },
  {
    name: "receiver slow (5 s)",
    unkeyedEvery: 0,
    async inject(stack, outageMs) {
      stack.answer.current = { status: 200, holdMs: 5000 };
      await Bun.sleep(outageMs);
      stack.answer.current = { status: 200 };
      return `receiver held each call 5 s (under Herald's ${WEBHOOK_TIMEOUT_MS} ms timeout) for ${outageMs} ms`;
    },
  },
];
