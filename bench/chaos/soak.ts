// `npm run chaos -- --soak`: measures the delivered maximum with a short burst,
// then loads at half of it for the given minutes, one fault a minute in turn,
// while every process's RSS is sampled. Each minute's load is its own segment,
// accounted in the background while the next minute's load runs.
import { FAULTS, type Outages } from "./faults.ts";
import type { ChaosStack } from "./herald-cluster.ts";
import { startLoad } from "./load.ts";
import { settle, toRow, type RoundResult } from "./round.ts";
import { summarizeRss, watchRss, type RssSample, type RssSummary } from "./rss.ts";

export interface SoakPlan {
  minutes: number;
  burstS: number;
  inFlight: number;
  outages: Outages;
  /** Seconds into each minute at which its fault is injected. */
  faultAtS: number;
  warmUpS: number;
  rssEveryMs: number;
}

export interface SoakResult {
  /** Notifications per second delivered by the burst, from its start until every one was final. */
  maxRate: number;
  rate: number;
  burst: RoundResult;
  minutes: RoundResult[];
  rss: RssSummary[];
  samples: RssSample[];
}

export async function runSoak(stack: ChaosStack, plan: SoakPlan, log: (line: string) => void): Promise<SoakResult> {
  const target = stack.receiver.url("/hook");
  const gateways = () => stack.gateways.map((g) => g.url);
  const burstStart = Date.now();
  const burstLoad = startLoad({ gateways, target, rate: 5000, inFlight: plan.inFlight, prefix: `soak-burst-${Date.now()}` });
  await Bun.sleep(plan.burstS * 1000);
  const burstSent = await burstLoad.stop();
  const burstSettled = await settle(stack, burstSent.ids);
  const maxRate = burstSent.ids.length / ((burstSettled.finalAt - burstStart) / 1000);
  const rate = Math.max(1, Math.round(maxRate / 2));
  log(
    `burst: ${burstSent.ids.length} accepted, all final after ${((burstSettled.finalAt - burstStart) / 1000).toFixed(1)} s: ${maxRate.toFixed(0)}/s; soaking at ${rate}/s`,
  );
  const burst = toRow("max burst (no pacing)", `${plan.inFlight} in flight for ${plan.burstS} s`, burstSent, burstSettled, 0, burstStart);

  const watch = watchRss(stack, plan.rssEveryMs);
  const accounted: Array<Promise<RoundResult>> = [];
  try {
    for (let m = 0; m < plan.minutes; m++) {
      const fault = m === 0 ? null : FAULTS[(m - 1) % FAULTS.length];
      const start = Date.now();
      const load = startLoad({ gateways, target, rate, inFlight: plan.inFlight, prefix: `soak-${m}-${start}`, unkeyedEvery: fault?.unkeyedEvery });
      let detail = "warm-up, no fault";
      let recoveryS = 0;
      let injectedAt = start;
      if (fault) {
        await Bun.sleep(plan.faultAtS * 1000);
        injectedAt = Date.now();
        detail = await fault.inject(stack, plan.outages[fault.outage ?? "node"]);
        await stack.waitReady(60_000);
        recoveryS = (Date.now() - injectedAt) / 1000;
        log(`minute ${m + 1}: ${detail}; every process ready after ${recoveryS.toFixed(1)} s`);
      }
      await Bun.sleep(Math.max(0, start + 60_000 - Date.now()));
      const name = fault ? fault.name : "none";
      accounted.push(
        load.stop().then(async (sent) => {
          const row = toRow(name, detail, sent, await settle(stack, sent.ids), recoveryS, injectedAt);
          log(`minute ${m + 1} (${name}): accepted ${row.accepted}, lost ${row.lost}, twice ${row.receivedTwice}`);
          return row;
        }),
      );
    }
    const minutes = await Promise.all(accounted);
    const samples = watch.stop();
    return { maxRate, rate, burst, minutes, rss: summarizeRss(samples, plan.warmUpS), samples };
  } finally {
    watch.stop();
    await Promise.allSettled(accounted);
  }
}
