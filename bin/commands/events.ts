import { createAckPublisher } from "../../lib/nats/ack-publisher.ts";
import type { ProcessContext } from "../lifecycle.ts";
import { resolveNats } from "../embedded-services.ts";
import { connect, requireMigrated } from "../wiring.ts";
import { topology } from "../../schemas/subjects.ts";
import { checkEvents } from "./events-check.ts";
import { eventsAction } from "./events-flags.ts";
import { ReplayRefused, replayEvents, summaryLine } from "./events-replay.ts";

/**
 * `herald events replay …` and `herald events check …`: time travel over
 * the events stream (docs/time-travel.md). Their findings go to stdout and
 * their summary to stderr; a drift found, or a target that refused an event,
 * exits 1.
 */
export function events(args: string[]): (ctx: ProcessContext) => Promise<void> {
  const action = eventsAction(args);
  return async (ctx) => {
    if (action.kind === "replay") {
      // NATS only: a replay reads the stream, never Postgres.
      const nats = await resolveNats(ctx.cfg, ctx.log, false);
      ctx.closers.push(nats.close);
      try {
        const summary = await replayEvents(nats.value, topology(ctx.cfg.HERALD_NAMESPACE), action);
        console.error(summaryLine(summary, action.to));
      } catch (err) {
        if (!(err instanceof ReplayRefused)) throw err;
        console.error(`${err.message}\n${summaryLine(err.summary, action.to)} before it stopped`);
        return exit(ctx, 1);
      }
      return;
    }
    const c = await connect(ctx, { embedded: false });
    await requireMigrated(c);
    const publisher = createAckPublisher(c.nc, { timeoutMs: ctx.cfg.HERALD_PUBLISH_TIMEOUT_MS });
    ctx.closers.push(async () => publisher.close());
    const report = await checkEvents({ nc: c.nc, db: c.database.db, topo: c.topo, publisher }, action);
    if (report.agedOutBefore !== null)
      console.error(
        `warning: the events stream starts at ${report.agedOutBefore.toISOString()}, after --since: older events have aged out (HERALD_EVENTS_MAX_AGE_DAYS=${ctx.cfg.HERALD_EVENTS_MAX_AGE_DAYS}), so notifications of that time show as drift`,
      );
    for (const line of report.lines) console.log(JSON.stringify(line));
    const summary = report.lines.at(-1);
    if (summary?.kind === "summary")
      console.error(
        `${summary.rows} notifications created ${summary.since} … ${summary.until}${summary.tenant ? ` (tenant ${summary.tenant})` : ""}: ${summary.drift} drift${action.repair ? `, ${summary.repaired} repaired, ${summary.unrepaired} not repairable` : ""}; ${summary.eventsRead} messages read`,
      );
    if (report.drift > 0) return exit(ctx, 1);
  };
}

/** A one-shot command that found something wrong: close what it opened, then exit with `code`. */
async function exit(ctx: ProcessContext, code: number): Promise<never> {
  for (const close of ctx.closers.splice(0).reverse()) await close().catch((err: unknown) => ctx.log.error({ err }, "error while shutting down"));
  process.exit(code);
}
