// Writes one run to bench/results/: <stamp>.json (everything), <stamp>.md (the
// tables), <stamp>.svg (the chart), and the same as latest.* for docs/performance.md.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chartData, renderChart } from "../chart.ts";
import { DEFAULT_PHASES } from "../args.ts";
import { renderMarkdown } from "../report.ts";
import type { BenchResults } from "../types.ts";

export function writeResults(r: BenchResults, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/\.\d+Z$/, "Z").replaceAll(":", "-");
  const base = r.plan.mode === "soak" ? `${stamp}-soak` : stamp;
  const files: string[] = [];
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    files.push(join(dir, name));
  };
  write(`${base}.json`, `${JSON.stringify(r, null, 2)}\n`);
  if (r.plan.mode === "soak") {
    write(`${base}.md`, renderMarkdown(r));
    return files;
  }
  write(`${base}.svg`, renderChart(chartData(r)));
  write(`${base}.md`, renderMarkdown(r, `${base}.svg`));
  // A partial run (--phases) must not replace the latest full picture.
  if (DEFAULT_PHASES.every((p) => r.plan.phases.includes(p))) {
    for (const ext of ["json", "svg"]) copyFileSync(join(dir, `${base}.${ext}`), join(dir, `latest.${ext}`));
    writeFileSync(join(dir, "latest.md"), renderMarkdown(r, "latest.svg"));
  }
  return files;
}
