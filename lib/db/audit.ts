import type { Database } from "../../schemas/database.ts";
import { auditLog } from "../../schemas/tables.ts";

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
