import { parseArgs } from "node:util";
import { z } from "zod";
import type { ReplayOptions } from "../processor/replay.ts";
import { CHANNELS } from "../schemas/enums.ts";
import { ConfigError } from "./config.ts";

const ReplayFlags = z.object({
  channel: z.enum(CHANNELS).optional(),
  tenant: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(0).optional(),
  "dry-run": z.boolean().optional(),
});

/** `herald replay [--channel c] [--tenant t] [--limit n] [--dry-run]`; a bad flag stops it with exit 78 like bad config. */
export function replayOptions(args: string[]): ReplayOptions {
  let values: unknown;
  try {
    values = parseArgs({ args, options: { channel: { type: "string" }, tenant: { type: "string" }, limit: { type: "string" }, "dry-run": { type: "boolean" } }, strict: true }).values;
  } catch (err) {
    throw new ConfigError(["replay"], `invalid replay flags:\n  ${err instanceof Error ? err.message : String(err)}`);
  }
  const flags = ReplayFlags.safeParse(values);
  if (!flags.success) throw new ConfigError(["replay"], `invalid replay flags:\n${flags.error.issues.map((i) => `  --${i.path.join(".")}: ${i.message}`).join("\n")}`);
  const { channel, tenant, limit, "dry-run": dryRun } = flags.data;
  return { ...(channel ? { channel } : {}), ...(tenant ? { tenant } : {}), ...(limit !== undefined ? { limit } : {}), dryRun: dryRun ?? false };
}
