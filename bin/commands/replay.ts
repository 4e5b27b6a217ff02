import { createAckPublisher } from "../../lib/nats/ack-publisher.ts";
import { replayDeadLetters } from "../../processor/dead-letter-admin.ts";
import type { ProcessContext } from "../lifecycle.ts";
import { connect, requireMigrated } from "../wiring.ts";
import { replayOptions } from "./replay-flags.ts";

/** `herald replay [flags]`: hands failed notifications back to the scheduler, and prints what it did (or, with --dry-run, would do) as JSON. */
export function replay(args: string[]): (ctx: ProcessContext) => Promise<void> {
  // Parsed before the process starts: a bad flag stops it at once, before any connection.
  const opts = replayOptions(args);
  return async (ctx) => {
    const c = await connect(ctx, { embedded: false });
    await requireMigrated(c);
    const publisher = createAckPublisher(c.nc, { timeoutMs: ctx.cfg.HERALD_PUBLISH_TIMEOUT_MS });
    ctx.closers.push(async () => publisher.close());
    const report = await replayDeadLetters({ db: c.database.db, publisher, topo: c.topo, log: ctx.log }, opts, { actor: "cli", clientAddress: null });
    if (report.dryRun) ctx.log.info({ wouldReplay: report.wouldReplay.length, unreplayable: report.unreplayable.length }, "dry run: nothing changed");
    else
      ctx.log.info(
        { replayed: report.replayed.length, unreplayable: report.unreplayable.length, skipped: report.skipped },
        "failed notifications handed to the scheduler",
      );
    console.log(JSON.stringify(report));
  };
}
