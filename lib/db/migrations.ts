import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import type { MigrationMeta } from "drizzle-orm/migrator";
import { PgDialect, type PgSession } from "drizzle-orm/pg-core";
import type { Database } from "../../schemas/database.ts";
import { sqlState } from "./durable.ts";
import journal from "../../schemas/migrations/meta/_journal.json";
import init from "../../schemas/migrations/0000_init.sql" with { type: "text" };
import attemptProviderMessageId from "../../schemas/migrations/0001_attempt_provider_message_id.sql" with { type: "text" };
import inboxReadAt from "../../schemas/migrations/0002_inbox_read_at.sql" with { type: "text" };
import inboxUnreadIndex from "../../schemas/migrations/0003_inbox_unread_index.sql" with { type: "text" };
import acceptedMeansSent from "../../schemas/migrations/0004_accepted_means_sent.sql" with { type: "text" };
import deliveryCallbacks from "../../schemas/migrations/0005_delivery_callbacks.sql" with { type: "text" };
import recipientsTemplatesPreferences from "../../schemas/migrations/0006_recipients_templates_preferences.sql" with { type: "text" };
import tenantsKeysAudit from "../../schemas/migrations/0007_tenants_keys_audit.sql" with { type: "text" };
import partitionNotifications from "../../schemas/migrations/0008_partition_notifications.sql" with { type: "text" };
import attemptsWithoutForeignKey from "../../schemas/migrations/0009_attempts_without_foreign_key.sql" with { type: "text" };
import statusWebhooks from "../../schemas/migrations/0010_status_webhooks.sql" with { type: "text" };

/**
 * The committed migrations, imported rather than read from the folder at run
 * time, so `bun build --compile` puts them inside the one binary. A migration
 * that drizzle-kit generates must be added here too; a test compares this
 * list with what drizzle reads from the folder.
 */
const SQL_BY_TAG: Readonly<Record<string, string>> = {
  "0000_init": init,
  "0001_attempt_provider_message_id": attemptProviderMessageId,
  "0002_inbox_read_at": inboxReadAt,
  "0003_inbox_unread_index": inboxUnreadIndex,
  "0004_accepted_means_sent": acceptedMeansSent,
  "0005_delivery_callbacks": deliveryCallbacks,
  "0006_recipients_templates_preferences": recipientsTemplatesPreferences,
  "0007_tenants_keys_audit": tenantsKeysAudit,
  "0008_partition_notifications": partitionNotifications,
  "0009_attempts_without_foreign_key": attemptsWithoutForeignKey,
  "0010_status_webhooks": statusWebhooks,
};

/** The migrations as drizzle's folder reader makes them: same statements, same hashes, same order. */
export function embeddedMigrations(): MigrationMeta[] {
  return journal.entries.map((entry) => {
    const query = SQL_BY_TAG[entry.tag];
    if (query === undefined) throw new Error(`migration ${entry.tag} is in the journal but not embedded in lib/db/migrations.ts`);
    return {
      sql: query.split("--> statement-breakpoint"),
      bps: entry.breakpoints,
      folderMillis: entry.when,
      hash: createHash("sha256").update(query).digest("hex"),
    };
  });
}

/** The advisory lock every migrating process takes: "herald" in ASCII, a bigint no other lock of ours uses. */
const MIGRATION_LOCK = sql.raw("114784820031844");

/**
 * Applies the migrations not yet applied, each in a transaction, recording
 * them in drizzle's own table, so a database migrated by drizzle-kit or by an
 * earlier Herald is recognised. Works on postgres.js and PGlite alike.
 *
 * Processes starting together take turns on a session-level advisory lock:
 * drizzle creates its schema and table before its transaction, so a lock
 * inside the transaction would come too late. `db` must therefore run every
 * statement on one connection (a single-connection pool, or PGlite).
 */
export async function migrate(db: Database): Promise<void> {
  // The dialect takes a session typed without our tables; migrations run plain SQL, so the schema type is moot.
  const session = db._.session as unknown as PgSession;
  await db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK})`);
  try {
    await new PgDialect().migrate(embeddedMigrations(), session, { migrationsFolder: "" });
  } finally {
    await db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK})`);
  }
}

/**
 * How many of the committed migrations the database lacks: all of them when
 * it was never migrated. A process that only serves checks this instead of
 * migrating, so the schema changes only when an operator runs `herald migrate`.
 */
export async function pendingMigrations(db: Database): Promise<number> {
  const committed = embeddedMigrations();
  let applied: Set<string>;
  try {
    const result: unknown = await db.execute(sql`select hash from drizzle.__drizzle_migrations`);
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<{ hash: unknown }>;
    applied = new Set(rows.map((r) => String(r.hash)));
  } catch (err) {
    // No drizzle schema or table yet (3F000, 42P01): nothing was ever applied.
    if (["3F000", "42P01"].includes(sqlState(err) ?? "")) return committed.length;
    throw err;
  }
  return committed.filter((m) => !applied.has(m.hash)).length;
}
