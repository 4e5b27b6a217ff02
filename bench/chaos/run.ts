// `npm run chaos`: runs Herald as it is deployed (three NATS nodes with R3
// streams, Redis, two gateways, two processors) under a careful client's
// steady load and breaks one thing at a time; after each fault it checks that
// every accepted notification was delivered once. Prints a table, writes
// bench/results/chaos-*.json, exits 1 when a fault lost or duplicated one.
// Everything it starts is removed afterwards, also on failure or Ctrl-C.
// --soak: half the measured maximum for --minutes, a fault a minute, RSS
// sampled; exits 1 on loss, duplicates or memory growth.
// Usage: npm run chaos -- [--quick] [--faults a,b] [--out DIR] | --soak [--minutes N]
import { parseArgs } from "node:util";
import { cleanupOnSignals, createCleanup } from "../lib/cleanup.ts";
import { FAULTS } from "./faults.ts";
import { startChaosStack } from "./herald-cluster.ts";
import { renderSoak, renderTable, writeChaosResults, writeSoakResults, type ChaosResults } from "./report.ts";
import { runRound, type ChaosPlan, type RoundResult } from "./round.ts";
import { FLAT_GROWTH } from "./rss.ts";
import { runSoak, type SoakPlan, type SoakResult } from "./soak.ts";

const log = (line: string) => console.error(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`);

const NOTES = [
  "The run's database is on a Postgres cluster of its own (initdb on a free loopback port), which the Postgres fault stops; never the machine's.",
  "twice after cut-off: the receiver did its work on a call whose sender was gone by the time it answered (Herald timed out at HERALD_WEBHOOK_TIMEOUT_MS, or the processor was killed), and Herald's retry, with the same webhook-id, was delivered again; a receiver that dedupes on webhook-id acts once. Counted apart from received twice (2xx answered twice while Herald waited for the answer), which is Herald's to prevent.",
  "recovery s: fault injected → every gateway's /health/ready and every processor's metrics-port /health/ready answer 200; for outages it includes the outage.",
  "dropped: attempts whose connection failed (a gateway killed under them); like 5xx answers, each was retried with the same Idempotency-Key on the next gateway.",
  "lost: accepted (202) but not delivered successfully or not 'sent' once every accepted notification was final (or after 120 s).",
];

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    faults: { type: "string" },
    out: { type: "string", default: "bench/results" },
    soak: { type: "boolean", default: false },
    minutes: { type: "string", default: "10" },
  },
});
const out = values.out ?? "bench/results";
const quick = values.quick ?? false;
const plan: ChaosPlan = quick
  ? { quick, steadyS: 3, outages: { node: 3000, provider: 3000, postgres: 5000 }, rate: 40, inFlight: 32 }
  : { quick, steadyS: 10, outages: { node: 8000, provider: 60_000, postgres: 20_000 }, rate: 80, inFlight: 64 };
const wanted = values.faults?.split(",").map((f) => f.trim().toLowerCase());
const faults = wanted ? FAULTS.filter((f) => wanted.some((w) => f.name.toLowerCase().includes(w))) : FAULTS;

const cleanup = createCleanup();
cleanupOnSignals(cleanup);
if (values.soak) process.exit(await soak());
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
      `${r.fault}: accepted ${r.accepted} (${r.acceptedUnkeyed} without a key; 5xx ${r.fiveXx}, ${r.fiveXxUnkeyed} of them without${r.fiveXx > 0 ? `: ${JSON.stringify(r.fiveXxBy)}` : ""}), lost ${r.lost}, twice ${r.receivedTwice} (${r.twiceAfterCutOff} after a cut-off call), drained ${r.drainS.toFixed(1)} s after the fault`,
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
const files = writeChaosResults(results, out);
console.log(renderTable(rounds));
console.log(`\nwrote ${files.join(", ")} (${Math.round(results.elapsedS)} s)${clean ? "" : "; a fault lost or duplicated notifications, or the run failed"}`);
process.exit(code);

async function soak(): Promise<number> {
  const soakPlan: SoakPlan = {
    minutes: Number(values.minutes),
    burstS: 10,
    inFlight: 64,
    outages: { node: 8000, provider: 20_000, postgres: 20_000 },
    faultAtS: 15,
    warmUpS: 60,
    rssEveryMs: 5000,
  };
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  let result: SoakResult | null = null;
  try {
    const stack = await startChaosStack(cleanup, log);
    await stack.waitReady(30_000);
    result = await runSoak(stack, soakPlan, log);
  } catch (err) {
    log(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await cleanup.run();
  }
  if (!result) return 2;
  const rows = [result.burst, ...result.minutes];
  const delivered = rows.every((r) => r.lost === 0 && r.receivedTwice === 0);
  const flat = result.rss.every((r) => !r.herald || r.flat);
  const clean = delivered && flat;
  const notes = [
    "max: one burst of the careful client with no pacing (64 in flight, 10 s), notifications over the time from its start until every one was final; the soak runs at half of it.",
    `flat: after a ${soakPlan.warmUpS} s warm-up, the median RSS of the last third of the samples is at most ${FLAT_GROWTH * 100}% above the first third's, for each gateway and processor (by role: a restarted process keeps its role).`,
    ...NOTES,
  ];
  const files = writeSoakResults({ ...result, startedAt, elapsedS: (performance.now() - t0) / 1000, plan: soakPlan, clean, notes }, out);
  console.log(renderSoak(result));
  console.log(`\nwrote ${files.join(", ")}${delivered ? "" : "; notifications were lost or duplicated"}${flat ? "" : "; a Herald process's memory grew"}`);
  return clean ? 0 : 1;
}
