// The chaos run's table and result files: bench/results/chaos-<stamp>.json
// for every run, and latest.chaos.json / .md for a clean one.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChaosPlan, RoundResult } from "./round.ts";
import { renderRssTable } from "./rss.ts";
import type { SoakPlan, SoakResult } from "./soak.ts";

export interface ChaosResults {
  startedAt: string;
  elapsedS: number;
  plan: ChaosPlan;
  rounds: RoundResult[];
  /** True when no round lost or duplicated a notification. */
  clean: boolean;
  notes: string[];
}

const HEADER = ["fault", "accepted", "5xx", "dropped", "received unique", "received twice", "twice after cut-off", "lost", "statuses", "recovery s"];

function row(r: RoundResult): string[] {
  const statuses = Object.entries(r.statuses)
    .map(([s, n]) => `${s} ${n}`)
    .join(", ");
  return [
    r.fault,
    String(r.accepted),
    String(r.fiveXx),
    String(r.dropped),
    String(r.receivedUnique),
    String(r.receivedTwice),
    String(r.twiceAfterCutOff),
    String(r.lost),
    statuses,
    r.recoveryS.toFixed(1),
  ];
}

/** A Markdown table, readable as printed text too. */
export function renderTable(rounds: readonly RoundResult[]): string {
  const lines = [HEADER, HEADER.map(() => "---"), ...rounds.map(row)];
  return lines.map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

export function writeChaosResults(r: ChaosResults, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/\.\d+Z$/, "Z").replaceAll(":", "-");
  const files = [join(dir, `chaos-${stamp}.json`)];
  writeFileSync(files[0] ?? "", `${JSON.stringify(r, null, 2)}\n`);
  if (r.clean) {
    const md = `# Chaos run ${r.startedAt}${r.plan.quick ? " (--quick)" : ""}\n\n${renderTable(r.rounds)}\n`;
    writeFileSync(join(dir, "latest.chaos.json"), `${JSON.stringify(r, null, 2)}\n`);
    writeFileSync(join(dir, "latest.chaos.md"), md);
    files.push(join(dir, "latest.chaos.json"), join(dir, "latest.chaos.md"));
  }
  return files;
}

export interface SoakResults extends SoakResult {
  startedAt: string;
  elapsedS: number;
  plan: SoakPlan;
  /** No minute lost or duplicated a notification and every Herald process's memory stayed flat. */
  clean: boolean;
  notes: string[];
}

export function renderSoak(r: Pick<SoakResults, "burst" | "minutes" | "rss" | "maxRate" | "rate">): string {
  const accepted = r.minutes.reduce((a, m) => a + m.accepted, 0);
  const paced = `paced at ${r.rate}/s, accepted ${(accepted / (60 * Math.max(1, r.minutes.length))).toFixed(0)}/s`;
  return `${renderTable([r.burst, ...r.minutes])}\n\nmax ${r.maxRate.toFixed(0)}/s delivered; soak ${paced}\n\n${renderRssTable(r.rss)}`;
}

export function writeSoakResults(r: SoakResults, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/\.\d+Z$/, "Z").replaceAll(":", "-");
  const files = [join(dir, `soak-${stamp}.json`)];
  writeFileSync(files[0] ?? "", `${JSON.stringify(r, null, 2)}\n`);
  if (r.clean) {
    writeFileSync(join(dir, "latest.soak.json"), `${JSON.stringify(r, null, 2)}\n`);
    writeFileSync(join(dir, "latest.soak.md"), `# Soak ${r.startedAt} (${r.plan.minutes} min)\n\n${renderSoak(r)}\n`);
    files.push(join(dir, "latest.soak.json"), join(dir, "latest.soak.md"));
  }
  return files;
}
