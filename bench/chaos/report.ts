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

/** Writes `<kind>-<stamp>.json` for every run, and `latest.<kind>.json` / `.md` for a clean one; the files written. */
function writeResults(kind: "chaos" | "soak", r: { startedAt: string; clean: boolean }, md: () => string, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/\.\d+Z$/, "Z").replaceAll(":", "-");
  const json = `${JSON.stringify(r, null, 2)}\n`;
  const files = [join(dir, `${kind}-${stamp}.json`)];
  writeFileSync(files[0] ?? "", json);
  if (r.clean) {
    writeFileSync(join(dir, `latest.${kind}.json`), json);
    writeFileSync(join(dir, `latest.${kind}.md`), md());
    files.push(join(dir, `latest.${kind}.json`), join(dir, `latest.${kind}.md`));
  }
  return files;
}

export function writeChaosResults(r: ChaosResults, dir: string): string[] {
  return writeResults("chaos", r, () => `# Chaos run ${r.startedAt}${r.plan.quick ? " (--quick)" : ""}\n\n${renderTable(r.rounds)}\n`, dir);
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
  return writeResults("soak", r, () => `# Soak ${r.startedAt} (${r.plan.minutes} min)\n\n${renderSoak(r)}\n`, dir);
}
