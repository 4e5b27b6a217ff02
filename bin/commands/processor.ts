import type { ProcessContext } from "../lifecycle.ts";
import type { Database } from "../../schemas/database.ts";
import { requireWebhookSecret, sendersFromConfig, tenantSigningKeys } from "../senders.ts";
import { connect, requireMigrated, serveProcessorProbes, startProcessor } from "../wiring.ts";

/** `herald processor`: one member of the lanes' consumer group, with its own /metrics and probes. */
export async function processor(ctx: ProcessContext): Promise<void> {
  let connected: (db: Database) => void = () => undefined;
  const database = new Promise<Database>((resolve) => (connected = resolve));
  // Before any connection: a missing secret or a bad provider key stops the start at once.
  const tenantKeys = tenantSigningKeys(ctx.cfg, database, ctx.log);
  const senders = await sendersFromConfig(ctx.cfg, requireWebhookSecret(ctx.cfg.HERALD_WEBHOOK_SECRET), ctx.log, tenantKeys);
  const c = await connect(ctx, { embedded: false });
  connected(c.database.db);
  await requireMigrated(c);
  const started = await startProcessor(ctx, c, senders);
  serveProcessorProbes(ctx, c, started);
}
