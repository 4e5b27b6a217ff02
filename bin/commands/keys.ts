import { parseArgs } from "node:util";
import { z } from "zod";
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey } from "../../lib/db/api-keys.ts";
import { ConfigError } from "../../schemas/config.ts";
import { API_KEY_SCOPES } from "../../schemas/enums.ts";
import { isUuid } from "../../schemas/storable.ts";
import type { ProcessContext } from "../lifecycle.ts";
import { connect, requireMigrated } from "../wiring.ts";

/** What `herald keys …` asks for, checked before anything connects. */
type KeysAction =
  | { kind: "create"; tenantId: string; scopes: (typeof API_KEY_SCOPES)[number][]; name?: string; expiresAt?: Date }
  | { kind: "list"; tenantId?: string }
  | { kind: "rotate"; id: string; graceSeconds?: number }
  | { kind: "revoke"; id: string };

const Create = z.object({
  tenant: z.string().regex(/^[^\s:,]{1,255}$/, "a tenant id: no spaces, commas or colons"),
  scopes: z
    .string()
    .transform((s) => s.split(",").map((p) => p.trim()))
    .pipe(z.array(z.enum(API_KEY_SCOPES)).min(1)),
  name: z.string().min(1).max(200).optional(),
  "expires-at": z.iso
    .datetime({ offset: true })
    .refine((t) => Date.parse(t) > Date.now(), "must be in the future")
    .optional(),
});

const FLAGS = {
  tenant: { type: "string" },
  scopes: { type: "string" },
  name: { type: "string" },
  "expires-at": { type: "string" },
  "grace-seconds": { type: "string" },
} as const;

function refuse(message: string): never {
  throw new ConfigError(["keys"], `invalid keys command:\n  ${message}\n\nusage: herald keys create|list|rotate|revoke …  (herald keys --help)`);
}

/** `herald keys create --tenant t --scopes send,read [--name n] [--expires-at iso]`, `list [--tenant t]`, `rotate <id> [--grace-seconds n]`, `revoke <id>`. */
export function keysAction(args: string[]): KeysAction {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof FLAGS; strict: true; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args, options: FLAGS, strict: true, allowPositionals: true });
  } catch (err) {
    return refuse(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  const [verb, id, ...rest] = positionals;
  if (rest.length > 0) refuse(`unexpected ${rest.join(" ")}`);
  const needId = () => {
    if (id === undefined || !isUuid(id)) refuse(`${verb} needs the key's id (a UUID from \`herald keys list\`)`);
    return id;
  };
  switch (verb) {
    case "create": {
      const flags = Create.safeParse(values);
      if (!flags.success) refuse(flags.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("\n  "));
      const { tenant, scopes, name, "expires-at": expiresAt } = flags.data;
      return {
        kind: "create",
        tenantId: tenant,
        scopes: [...new Set(scopes)],
        ...(name ? { name } : {}),
        ...(expiresAt ? { expiresAt: new Date(expiresAt) } : {}),
      };
    }
    case "list":
      return { kind: "list", ...(values.tenant ? { tenantId: values.tenant } : {}) };
    case "rotate": {
      const grace = values["grace-seconds"];
      const graceSeconds = grace === undefined ? undefined : Number(grace);
      if (graceSeconds !== undefined && !(Number.isInteger(graceSeconds) && graceSeconds >= 0 && graceSeconds <= 30 * 86_400)) {
        refuse("--grace-seconds: a whole number of seconds from 0 to 2592000 (30 days)");
      }
      return { kind: "rotate", id: needId(), ...(graceSeconds !== undefined ? { graceSeconds } : {}) };
    }
    case "revoke":
      return { kind: "revoke", id: needId() };
    default:
      return refuse(verb === undefined ? "say what to do: create, list, rotate or revoke" : `unknown action "${verb}"`);
  }
}

/**
 * `herald keys …`: manages API keys straight in Postgres, as the admin API
 * does, recorded in the audit log with the actor `cli`. Prints JSON; a
 * created or rotated key is printed this once. Gateways hear of each change
 * when it commits.
 */
export function keys(args: string[]): (ctx: ProcessContext) => Promise<void> {
  const action = keysAction(args);
  return async (ctx) => {
    const c = await connect(ctx, { embedded: false });
    await requireMigrated(c);
    const { db } = c.database;
    const by = { actor: "cli", clientAddress: null };
    switch (action.kind) {
      case "create": {
        const { kind: _, ...spec } = action;
        console.log(JSON.stringify(await createApiKey(db, spec, by)));
        return;
      }
      case "list": {
        const all = [];
        let after: string | undefined;
        for (;;) {
          const page = await listApiKeys(db, { limit: 1000, ...(action.tenantId ? { tenantId: action.tenantId } : {}), ...(after ? { after } : {}) });
          all.push(...page.data);
          if (page.next === null) break;
          after = page.next;
        }
        console.log(JSON.stringify(all));
        return;
      }
      case "rotate": {
        const rotated = await rotateApiKey(db, action.id, { graceSeconds: action.graceSeconds ?? ctx.cfg.HERALD_KEY_ROTATION_GRACE_S }, by);
        if (rotated === undefined) throw new ConfigError(["keys"], `no live API key ${action.id}`);
        console.log(JSON.stringify({ ...rotated.issued, previous: { id: action.id, expiresAt: rotated.oldExpiresAt } }));
        return;
      }
      case "revoke": {
        const revoked = await revokeApiKey(db, action.id, {}, by);
        if (revoked === undefined) throw new ConfigError(["keys"], `no API key ${action.id}`);
        console.log(JSON.stringify(revoked));
        return;
      }
      default:
        return action satisfies never;
    }
  };
}
