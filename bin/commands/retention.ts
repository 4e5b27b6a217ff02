import { parseArgs } from "node:util";
import { runRetention } from "../../lib/db/retention.ts";
import { ConfigError } from "../../schemas/config.ts";
import type { ProcessContext } from "../lifecycle.ts";
import { connect, requireMigrated } from "../wiring.ts";

/**
 * `herald retention [--dry-run]`: one retention pass now (lib/db/retention.ts),
 * as each processor runs every HERALD_RETENTION_INTERVAL_S, and its report as
 * one JSON line. With --dry-run it counts what would go and changes nothing.
 * Waits for no other pass: when one is running it says so and exits.
 */
export function retention(args: string[]): (ctx: ProcessContext) => Promise<void> {
  let dryRun: boolean;
  try {
    dryRun = parseArgs({ args, options: { "dry-run": { type: "boolean" } }, strict: true }).values["dry-run"] ?? false;
  } catch (err) {
    throw new ConfigError(["retention"], `invalid retention flags:\n  ${err instanceof Error ? err.message : String(err)}`);
  }
  return async (ctx) => {
    const c = await connect(ctx, { embedded: false });
    await requireMigrated(c);
    const started = performance.now();
    const report = await c.database.session((sql) => runRetention(sql, { defaultDays: ctx.cfg.HERALD_RETENTION_DAYS, dryRun }));
    const summary = {
      ms: Math.round(performance.now() - started),
      dropped: report.dropped.length,
      deletedNotifications: report.deleted.notifications,
      kept: report.kept.length,
    };
    if (report.busy) ctx.log.warn("another retention pass is running; this one did nothing");
    else ctx.log.info(summary, report.dryRun ? "dry run: nothing changed" : "retention pass done");
    console.log(JSON.stringify(report));
  };
}
