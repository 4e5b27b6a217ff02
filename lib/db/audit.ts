import { and, desc, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import type { Database } from "../../schemas/database.ts";
import { auditLog, type AuditRow } from "../../schemas/tables.ts";

/** One administrative action, as `appendAudit` records it. */
export interface AuditEntry {
  /** `key:<id>`, `operator:<name>`, `tenant:<id>` (a bootstrap key) or `cli`. */
  actor: string;
  tenantId: string | null;
  /** Dotted, past tense: `api_key.created`, `user.erased`, `dead_letters.replayed`. */
  action: string;
  target: string | null;
  clientAddress: string | null;
  /** What changed, never personal data. */
  details?: Record<string, unknown>;
}

/**
 * The one writer of `audit_log`, which only ever grows (its trigger refuses
 * UPDATE, DELETE and TRUNCATE). Pass the transaction of the action itself
 * where there is one, so the action and its record commit together.
 */
export async function appendAudit(db: Pick<Database, "insert">, entry: AuditEntry): Promise<void> {
  await db.insert(auditLog).values({
    actor: entry.actor,
    tenantId: entry.tenantId,
    action: entry.action,
    target: entry.target,
    clientAddress: entry.clientAddress,
    details: entry.details ?? null,
  });
}

/**
 * Runs `action` and appends its record in one transaction, so neither
 * commits without the other: `entryOf` its result (null: nothing happened
 * worth a record, e.g. an unknown name), and a throw rolls both back.
 */
export async function recorded<T>(db: Database, action: (tx: Database) => Promise<T>, entryOf: (result: T) => AuditEntry | null): Promise<T> {
  return db.transaction(async (tx) => {
    const result = await action(tx);
    const entry = entryOf(result);
    if (entry !== null) await appendAudit(tx, entry);
    return result;
  });
}

/** An entry as `GET /admin/v1/audit` lists it. */
export type AuditRecord = Omit<AuditRow, "at"> & { at: string };

/** Filters of `listAudit`; every one given must hold. */
export interface AuditQuery {
  tenant?: string;
  actor?: string;
  /** Exact, or a prefix when it ends with `.` (`api_key.` is every key action). */
  action?: string;
  target?: string;
  /** Entries at or after this time. */
  since?: Date;
  /** Entries before this time. */
  until?: Date;
  limit: number;
  /** Only entries older than this id: the previous page's last. */
  before?: number;
}

function actionIs(action: string): SQL {
  // starts_with, not LIKE: `_` in `api_key.` would be a wildcard there.
  return action.endsWith(".") ? sql`starts_with(${auditLog.action}, ${action})` : eq(auditLog.action, action);
}

/**
 * A page of entries, newest first (keyset on the id, which only grows), and
 * the id to pass as `before` for the next page, null on the last.
 */
export async function listAudit(db: Database, query: AuditQuery): Promise<{ data: AuditRecord[]; next: number | null }> {
  const rows = await db
    .select()
    .from(auditLog)
    .where(
      and(
        query.tenant === undefined ? undefined : eq(auditLog.tenantId, query.tenant),
        query.actor === undefined ? undefined : eq(auditLog.actor, query.actor),
        query.action === undefined ? undefined : actionIs(query.action),
        query.target === undefined ? undefined : eq(auditLog.target, query.target),
        query.since === undefined ? undefined : gte(auditLog.at, query.since),
        query.until === undefined ? undefined : lt(auditLog.at, query.until),
        query.before === undefined ? undefined : lt(auditLog.id, query.before),
      ),
    )
    .orderBy(desc(auditLog.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return { data: page.map((r) => ({ ...r, at: r.at.toISOString() })), next: rows.length > query.limit && last !== undefined ? last.id : null };
}
