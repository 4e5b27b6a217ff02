import { loadDevCredentials } from "../dev-credentials.ts";
import type { ProcessContext } from "../lifecycle.ts";
import type { Database } from "../../schemas/database.ts";
import { sendersFromConfig, tenantSigningKeys } from "../senders.ts";
import { connect, migrateAll, startGateway, startProcessor } from "../wiring.ts";

/**
 * `herald all` (`npm start`): gateway and processor in one process for a
 * developer's machine — embedded fallbacks, migrations run, a dev key and
 * webhook secret when none are configured, listening on loopback by default.
 */
export async function all(outer: ProcessContext): Promise<void> {
  const dev =
    outer.cfg.HERALD_API_KEYS.size === 0 || !outer.cfg.HERALD_WEBHOOK_SECRET || !outer.cfg.HERALD_TOKEN_SECRET
      ? loadDevCredentials(outer.cfg.HERALD_DATA_DIR)
      : null;
  // On a developer's machine the inbox stream and unsubscribe links work without configuration too.
  const cfg = {
    ...outer.cfg,
    HERALD_TOKEN_SECRET: outer.cfg.HERALD_TOKEN_SECRET ?? dev?.tokenSecret,
    HERALD_PUBLIC_URL: outer.cfg.HERALD_PUBLIC_URL ?? (outer.cfg.HERALD_PORT > 0 ? `http://127.0.0.1:${outer.cfg.HERALD_PORT}` : undefined),
  };
  const ctx = { ...outer, cfg };
  const keys = cfg.HERALD_API_KEYS.size > 0 ? cfg.HERALD_API_KEYS : new Map(dev ? [[dev.apiKey, dev.tenant]] : []);
  let connected: (db: Database) => void = () => undefined;
  const database = new Promise<Database>((resolve) => (connected = resolve));
  const tenantKeys = tenantSigningKeys(cfg, database, ctx.log);
  const senders = await sendersFromConfig(cfg, cfg.HERALD_WEBHOOK_SECRET ?? dev?.webhookSecret ?? "", ctx.log, tenantKeys);
  const c = await connect(ctx, { embedded: true });
  connected(c.database.db);
  await migrateAll(cfg, c);
  const processor = await startProcessor(ctx, c, senders);
  const { hostname, port } = await startGateway(ctx, c, { keys, hostname: cfg.HERALD_HOST ?? "127.0.0.1", processor });
  process.stdout.write(welcome(hostname, port, dev !== null && cfg.HERALD_API_KEYS.size === 0 ? dev.apiKey : null));
}

/** The banner: where it listens, as it is, and a curl that works from this machine. */
function welcome(hostname: string, port: number, devKey: string | null): string {
  const local = hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname;
  const url = `http://${local.includes(":") ? `[${local}]` : local}:${port}`;
  const key = devKey ?? "<one of HERALD_API_KEYS>";
  const where = hostname === "0.0.0.0" || hostname === "::" ? `on every interface, port ${port} (${url} from here)` : `at ${url}`;
  return [
    "",
    `Herald is listening ${where}`,
    devKey ? `dev API key (tenant "dev"): ${devKey}` : "API keys: from HERALD_API_KEYS",
    "",
    "Send one:",
    `curl -s -X POST ${url}/v1/notifications \\`,
    `  -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\`,
    `  -d '{"userId":"user-123","channel":"in_app","payload":{"title":"Hi","body":"Hello from Herald"}}'`,
    "",
    `Then: curl -s ${url}/v1/notifications/<id> -H 'Authorization: Bearer ${key}'`,
    "",
    `API reference: ${url}/docs (OpenAPI: ${url}/openapi.json)`,
    "",
  ].join("\n");
}
