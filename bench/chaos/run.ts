// `npm run chaos`: runs Herald as it is deployed (three NATS nodes with R3
// streams, Redis, two gateways, two processors) under a careful client's
// steady load and breaks one thing at a time; after each fault it checks that
// every accepted notification was delivered once. Prints a table, writes
// bench/results/chaos-*.json, exits 1 when a fault lost or duplicated one.
// Everything it starts is removed afterwards, also on failure or Ctrl-C.
// Usage: npm run chaos -- [--quick] [--faults a,b] [--out DIR]
import { parseArgs } from "node:util";
import { cleanupOnSignals, createCleanup } from "../lib/cleanup.ts";
import { FAULTS } from "./faults.ts";
import { startChaosStack } from "./herald-cluster.ts";
import { renderTable, writeChaosResults, type ChaosResults } from "./report.ts";
import { runRound, type ChaosPlan, type RoundResult } from "./round.ts";

const log = (line: string) => console.error(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`);

const NOTES = [
  "Postgres is not stopped: that needs a Postgres cluster of the run's own, not the machine's.",
  "recovery s: fault injected → every gateway's /health/ready and every processor's metrics-port /health/ready answer 200; for outages it includes the outage.",
  "dropped: attempts whose connection failed (a gateway killed under them); like 5xx answers, each was retried with the same Idempotency-Key on the next gateway.",
  "lost: accepted (202) but not delivered successfully or not 'sent' once every accepted notification was final (or after 120 s).",
];

const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, faults: { type: "string" }, out: { type: "string", default: "bench/results" } },
});
const quick = values.quick ?? false;
const plan: ChaosPlan = quick ? { quick, steadyS: 3, outageMs: 3000, rate: 40, inFlight: 32 } : { quick, steadyS: 10, outageMs: 8000, rate: 80, inFlight: 64 };
const wanted = values.faults?.split(",").map((f) => f.trim().toLowerCase());
const faults = wanted ? FAULTS.filter((f) => wanted.some((w) => f.name.toLowerCase().includes(w))) : FAULTS;

const cleanup = createCleanup();
cleanupOnSignals(cleanup);
const startedAt = new Date().toISOString();
const t0 = performance.now();
const rounds: RoundResult[] = [];
let code = 0;
try {
  const stack = await startChaosStack(cleanup, log);
  await stack.waitReady(30_000);
  for (const fault of faults) {
    const r = await runRound(stack, fault, plan, log);
    rounds.push(r);
    log(
      `${r.fault}: accepted ${r.accepted} (${r.acceptedUnkeyed} without a key; 5xx ${r.fiveXx}, ${r.fiveXxUnkeyed} of them without), lost ${r.lost}, twice ${r.receivedTwice}, drained ${r.drainS.toFixed(1)} s after the fault`,
    );
  }
} catch (err) {
  log(`run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  code = 2;
} finally {
  await cleanup.run();
}
const clean = code === 0 && rounds.every((r) => r.lost === 0 && r.receivedTwice === 0);
if (code === 0 && !clean) code = 1;
const results: ChaosResults = { startedAt, elapsedS: (performance.now() - t0) / 1000, plan, rounds, clean, notes: NOTES };
const files = writeChaosResults(results, values.out ?? "bench/results");
console.log(renderTable(rounds));
console.log(`\nwrote ${files.join(", ")} (${Math.round(results.elapsedS)} s)${clean ? "" : "; a fault lost or duplicated notifications, or the run failed"}`);
process.exit(code);
