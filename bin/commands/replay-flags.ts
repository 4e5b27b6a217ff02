import { parseArgs } from "node:util";
import { z } from "zod";
import type { ReplayOptions } from "../../schemas/dead-letter.ts";
import { CHANNELS } from "../../schemas/enums.ts";
import { ConfigError } from "../../schemas/config.ts";

const ReplayFlags = z.object({
  channel: z.enum(CHANNELS).optional(),
  tenant: z.string().min(1).optional(),
  since: z.iso.datetime({ offset: true, error: "must be an ISO 8601 time with its offset, such as 2026-11-26T06:00:00Z" }).optional(),
  limit: z.coerce.number().int().min(0).optional(),
  "dry-run": z.boolean().optional(),
});

const FLAGS = {
  channel: { type: "string" },
  tenant: { type: "string" },
  since: { type: "string" },
  limit: { type: "string" },
  "dry-run": { type: "boolean" },
} as const;

/** `herald replay [--channel c] [--tenant t] [--since iso] [--limit n] [--dry-run]`; a bad flag stops it with exit 78 like bad config. */
export function replayOptions(args: string[]): ReplayOptions {
  let values: unknown;
  try {
    values = parseArgs({ args, options: FLAGS, strict: true }).values;
  } catch (err) {
    throw new ConfigError(["replay"], `invalid replay flags:\n  ${err instanceof Error ? err.message : String(err)}`);
  }
  const flags = ReplayFlags.safeParse(values);
  if (!flags.success)
    throw new ConfigError(["replay"], `invalid replay flags:\n${flags.error.issues.map((i) => `  --${i.path.join(".")}: ${i.message}`).join("\n")}`);
  const { channel, tenant, since, limit, "dry-run": dryRun } = flags.data;
  return {
    ...(channel ? { channel } : {}),
    ...(tenant ? { tenant } : {}),
    ...(since ? { since: new Date(since) } : {}),
    ...(limit !== undefined ? { limit } : {}),
    dryRun: dryRun ?? false,
  };
}
