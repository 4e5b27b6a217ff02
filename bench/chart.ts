// A small hand-written SVG: throughput and p99 per system, side by side, as
// horizontal bars. No dependency; pure, so it is unit-tested.
import type { BenchResults } from "./types.ts";

export interface Bar {
  label: string;
  value: number;
  kind: "herald" | "peer" | "limit";
}

export interface ChartData {
  title: string;
  throughput: Bar[];
  p99: Bar[];
}

const COLORS: Record<Bar["kind"], string> = { herald: "#2563eb", peer: "#9ca3af", limit: "#d97706" };
const ROW = 26;
const LABEL_W = 230;
const BAR_W = 200;
const PANEL_W = LABEL_W + BAR_W + 90;

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function formatValue(v: number, unit: string): string {
  return unit === "ms" ? `${Number.isInteger(v) ? v : v.toFixed(v < 10 ? 2 : 1)} ms` : `${Math.round(v).toLocaleString("en-US")}/s`;
}

function panel(x: number, title: string, bars: Bar[], unit: string): string {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const rows = bars.map((b, i) => {
    const y = 50 + i * ROW;
    const w = Math.max(1, (b.value / max) * BAR_W);
    return [
      `<text x="${x + LABEL_W - 8}" y="${y + 14}" text-anchor="end">${escapeXml(b.label)}</text>`,
      `<rect x="${x + LABEL_W}" y="${y + 2}" width="${w.toFixed(1)}" height="${ROW - 8}" fill="${COLORS[b.kind]}"/>`,
      `<text x="${(x + LABEL_W + w + 6).toFixed(1)}" y="${y + 14}">${escapeXml(formatValue(b.value, unit))}</text>`,
    ].join("");
  });
  return `<text x="${x}" y="36" font-weight="bold">${escapeXml(title)}</text>${rows.join("\n")}`;
}

/** Renders the chart; rows with a non-finite value are left out rather than drawn wrong. */
export function renderChart(data: ChartData): string {
  const throughput = data.throughput.filter((b) => Number.isFinite(b.value));
  const p99 = data.p99.filter((b) => Number.isFinite(b.value));
  const height = 70 + Math.max(throughput.length, p99.length) * ROW;
  const width = PANEL_W * 2 + 20;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="16" font-size="13" fill="#374151">${escapeXml(data.title)}</text>`,
    panel(10, "Throughput (higher is better)", throughput, "/s"),
    panel(PANEL_W + 10, "p99 latency at the same load (lower is better)", p99, "ms"),
    `<text x="10" y="${height - 8}" fill="#6b7280">blue: Herald · grey: peers · orange: ceilings of this box</text>`,
    "</svg>",
    "",
  ].join("\n");
}

/** The chart's data from one run: every measured system, nothing invented. */
export function chartData(r: BenchResults): ChartData {
  const throughput: Bar[] = [];
  const p99: Bar[] = [];
  const add = (label: string, kind: Bar["kind"], run: { rps: number; p99: number } | undefined) => {
    if (!run) return;
    throughput.push({ label, value: run.rps, kind });
    p99.push({ label, value: run.p99, kind });
  };
  add("Herald POST", "herald", r.herald);
  for (const p of r.peers) add(p.name === "express" ? "Express 5 POST" : p.name === "fastify" ? "Fastify 5 POST" : p.name, "peer", p);
  add("bare Bun.serve POST", "limit", r.bunServe);
  if (r.batch) throughput.push({ label: `Herald batch (items/s)`, value: r.batch.itemsPerS, kind: "herald" });
  if (r.jetstream) throughput.push({ label: `JetStream publish, window ${r.jetstream.window}`, value: r.jetstream.rps, kind: "limit" });
  if (r.e2e) throughput.push({ label: "Herald end to end (sent/s)", value: r.e2e.sentPerS, kind: "herald" });
  const title = `Herald bench ${r.startedAt.slice(0, 16).replace("T", " ")} UTC${r.plan.quick ? " (--quick)" : ""} · ${r.plan.connections} connections · ${r.machine.cores} cores`;
  return { title, throughput, p99 };
}
