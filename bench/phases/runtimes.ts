// The gateway phase's load (same body, a fresh Idempotency-Key per request,
// `plan.connections` connections, `plan.durationS` measured) against the
// gateway on Bun, Node, Deno and workerd in one run. A round starts each
// variant afresh, warms it, measures it and stops it, one at a time; the
// rounds alternate the order (forward, then reversed), so the drift of a
// shared 2-core box does not land on one runtime. Every variant runs alone on
// a private nats-server (TCP, or its WebSocket listener), with no processor,
// on a database, namespace and Redis prefix of the phase's own.
import { connect } from "@nats-io/transport-node";
import { topology } from "../../schemas/subjects.ts";
import { TENANT_KEY } from "../../test/support/constants.ts";
import { startPrivateNats } from "../../test/support/nats-server.ts";
import { SERVICES } from "../../test/support/services.ts";
import { createStack } from "../../test/support/stack.ts";
import type { BenchPlan } from "../args.ts";
import { type Cleanup, createCleanup } from "../lib/cleanup.ts";
import { prepareRuntimes, RUNTIME_VARIANTS } from "../lib/gateway-runtimes.ts";
import { mean } from "../lib/stats.ts";
import { purgeStream } from "../lib/stream.ts";
import type { HttpRun, RuntimeKey, RuntimeRun, RuntimesRun, RuntimeVariant } from "../types.ts";
import { measureHttp, singleLoad } from "./http-load.ts";

/** Round i measures the variants in their order when even, reversed when odd. */
export function runtimeOrder<T>(variants: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...variants] : [...variants].reverse();
}

/** One variant's rounds folded into its figures: mean req/s and p50, the worst p99, the largest peak RSS. */
export function summarizeRuntime(variant: RuntimeVariant, version: string, rounds: HttpRun[]): RuntimeRun {
  return {
    ...variant,
    version,
    rounds,
    rps: mean(rounds.map((r) => r.rps)),
    p50: mean(rounds.map((r) => r.p50)),
    p99: Math.max(...rounds.map((r) => r.p99)),
    peakRssMb: Math.max(...rounds.map((r) => r.peakRssMb)),
    serverCores: mean(rounds.map((r) => r.serverCores)),
  };
}

export async function runtimesPhase(plan: BenchPlan, cleanup: Cleanup, log: (line: string) => void): Promise<RuntimesRun> {
  // Torn down when the phase ends, so the phases after it start clean; on Ctrl-C the run's cleanup does it.
  const own = createCleanup();
  cleanup.defer("runtimes phase", () => own.run());
  try {
    const nats = await startPrivateNats();
    own.defer("private nats-server", () => nats.remove());
    const stack = await createStack({ NATS_URL: nats.url });
    // Its streams live on the private server and go with it; this removes the Redis keys and the database.
    own.defer("runtimes phase's Redis keys and database", () => stack.cleanup());
    const nc = await connect({ servers: nats.url });
    own.defer("private NATS connection", () => nc.close());
    const stream = topology(stack.namespace).streams.work;
    log("runtimes: building the Node and workerd bundles");
    const runtimes = await prepareRuntimes(SERVICES.redis, own);
    const runs = new Map<RuntimeKey, HttpRun[]>(RUNTIME_VARIANTS.map((v) => [v.key, []]));
    const order: RuntimeKey[][] = [];
    for (let round = 0; round < plan.runtimeRounds; round++) {
      const variants = runtimeOrder(RUNTIME_VARIANTS, round);
      order.push(variants.map((v) => v.key));
      for (const variant of variants) {
        log(
          `runtimes round ${round + 1}/${plan.runtimeRounds}: ${variant.key}, ${plan.connections} connections, ${plan.warmupS} s warm-up + ${plan.durationS} s`,
        );
        await purgeStream(nc, stream);
        const gateway = await runtimes.start(variant, stack.env, nats.wsUrl);
        own.defer(`${variant.key} gateway`, () => gateway.stop());
        try {
          const run = await measureHttp(
            { name: `${variant.key} gateway`, pid: gateway.pid, stream: { nc, name: stream } },
            singleLoad(gateway.url, TENANT_KEY, plan.connections),
            plan.warmupS,
            plan.durationS,
          );
          runs.get(variant.key)?.push(run);
        } finally {
          await gateway.stop();
        }
      }
    }
    return {
      roundsEach: plan.runtimeRounds,
      order,
      variants: RUNTIME_VARIANTS.map((v) => summarizeRuntime(v, runtimes.versions[v.runtime], runs.get(v.key) ?? [])),
    };
  } finally {
    await own.run();
  }
}
