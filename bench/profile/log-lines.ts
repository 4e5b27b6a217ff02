// CPU per log line the way the gateway writes them: one "notification accepted"
// line per request, each in its own event-loop turn, into a pipe that another
// process drains. Compares pino's sonic-boom destination (what Herald used),
// pino into the line buffer, and logInfo's direct line into the line buffer.
//
// Usage: flock -x /tmp/herald-cpu.lock bun bench/profile/log-lines.ts
//   [--lines 20000] [--rounds 3]
// Figures go to stderr; the lines themselves go to a `cat > /dev/null` child.
import pino from "pino";
import { parseArgs } from "node:util";
import { createLineBuffer, fdWriter } from "../../lib/telemetry/line-buffer.ts";
import { createHeraldLogger } from "../../lib/telemetry/logging.ts";
import { logInfo, type LogContext } from "../../lib/telemetry/log-lines.ts";

const { values } = parseArgs({
  options: { lines: { type: "string", default: "20000" }, rounds: { type: "string", default: "3" }, child: { type: "boolean", default: false } },
});
const N = Number(values.lines);

if (!values.child) {
  // Re-run with stdout on a pipe drained by cat, as a log collector would drain it.
  const cat = Bun.spawn(["sh", "-c", `"${process.execPath}" "${import.meta.path}" --child --lines ${N} --rounds ${values.rounds} | cat > /dev/null`], {
    stdout: "inherit",
    stderr: "inherit",
  });
  process.exit(await cat.exited);
}

const ctx = (i: number): LogContext => ({
  correlationId: `req-${i}-4f1c2b`,
  notificationId: "0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b",
  tenantId: "acme",
  channel: "in_app",
});

async function perLine(write: (i: number) => void): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    write(i);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / N;
}

const sonic = createHeraldLogger({ level: "info", service: "herald-gateway", destination: pino.destination({ dest: 1, sync: false, minLength: 4096 }) });
const buffered = createLineBuffer(fdWriter(1));
const viaPino = pino({ level: "info", base: { service: "herald-gateway" } }, buffered);
const direct = createHeraldLogger({ level: "info", service: "herald-gateway", destination: buffered });

const rows: Record<string, number[]> = {
  "no line (event-loop turn only)": [],
  "pino → sonic-boom (before)": [],
  "pino → line buffer": [],
  "logInfo direct line → line buffer": [],
};
for (let r = 0; r < Number(values.rounds); r++) {
  rows["no line (event-loop turn only)"]?.push(await perLine(() => {}));
  rows["pino → sonic-boom (before)"]?.push(await perLine((i) => logInfo(sonic, ctx(i), "notification accepted")));
  rows["pino → line buffer"]?.push(await perLine((i) => viaPino.info(ctx(i), "notification accepted")));
  rows["logInfo direct line → line buffer"]?.push(await perLine((i) => logInfo(direct, ctx(i), "notification accepted")));
}
buffered.flushSync();
const base = Math.min(...(rows["no line (event-loop turn only)"] ?? [0]));
for (const [label, us] of Object.entries(rows)) {
  const best = Math.min(...us);
  console.error(`${label.padEnd(36)} ${best.toFixed(2)} µs CPU per turn (best of ${us.length}), line cost ≈ ${(best - base).toFixed(2)} µs`);
}
