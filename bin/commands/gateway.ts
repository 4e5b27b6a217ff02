import { ConfigError } from "../../schemas/config.ts";
import type { ProcessContext } from "../lifecycle.ts";
import { connect, requireMigrated, startGateway } from "../wiring.ts";

/** `herald gateway`: the HTTP API, as many instances as the load asks for behind a load balancer. */
export async function gateway(ctx: ProcessContext): Promise<void> {
  const keys = ctx.cfg.HERALD_API_KEYS;
  // Before any connection: a gateway without keys would refuse every request.
  if (keys.size === 0)
    throw new ConfigError(
      ["HERALD_API_KEYS"],
      "invalid configuration:\n  HERALD_API_KEYS is empty: set tenant:key pairs, or the gateway would refuse every request",
    );
  const c = await connect(ctx, { embedded: false });
  await requireMigrated(c);
  await startGateway(ctx, c, { keys, hostname: ctx.cfg.HERALD_HOST ?? "0.0.0.0" });
}
