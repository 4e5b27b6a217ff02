import type { ProcessContext } from "../lifecycle.ts";
import { connect, migrateAll } from "../wiring.ts";

/** `herald migrate`: the committed migrations, then the streams and lane consumers; safe to run from several places at once. */
export async function migrate(ctx: ProcessContext): Promise<void> {
  const c = await connect(ctx, { embedded: false });
  await migrateAll(ctx.cfg, c);
  ctx.log.info({ namespace: ctx.cfg.HERALD_NAMESPACE }, "migrations and streams are up to date");
}
