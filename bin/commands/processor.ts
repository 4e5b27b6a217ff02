import type { ProcessContext } from "../lifecycle.ts";
import { requireWebhookSecret, sendersFromConfig } from "../senders.ts";
import { connect, requireMigrated, serveProcessorProbes, startProcessor } from "../wiring.ts";

/** `herald processor`: one member of the lanes' consumer group, with its own /metrics and probes. */
export async function processor(ctx: ProcessContext): Promise<void> {
  // Before any connection: a missing secret or a bad provider key stops the start at once.
  const senders = await sendersFromConfig(ctx.cfg, requireWebhookSecret(ctx.cfg.HERALD_WEBHOOK_SECRET), ctx.log);
  const c = await connect(ctx, { embedded: false });
  await requireMigrated(c);
  const started = await startProcessor(ctx, c, senders);
  serveProcessorProbes(ctx, c, started);
}
