import { eq, sql as raw } from "drizzle-orm";
import type { Database } from "../../schemas/database.ts";
import type { Channel } from "../../schemas/enums.ts";
import { tenants, type TenantRateLimit, type TenantRow } from "../../schemas/tables.ts";
import { appendAudit, type AuditEntry } from "./audit.ts";
import { announceTenancyChange } from "./tenancy-changes.ts";

// The one writer of `tenants`. A tenant row holds what is stored per tenant
// (limits, caps, retention); a tenant known only from a bootstrap key has no
// row, and `ensureTenant` creates it when its first managed key is made.
// Every change is announced on the tenancy channel in its own transaction.

type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];

/** A tenant as the admin API shows it. */
export interface TenantView {
  id: string;
  name: string | null;
  rateLimit: TenantRateLimit | null;
  dailyCaps: Partial<Record<Channel, number>>;
  retentionDays: number | null;
  createdAt: string;
  updatedAt: string;
}

/** What `PUT /admin/v1/tenants/:id` may change; a field left out keeps its value, null clears it (back to the configured default). */
export interface TenantPatch {
  name?: string | null;
  rateLimit?: TenantRateLimit | null;
  dailyCaps?: Partial<Record<Channel, number>>;
  retentionDays?: number | null;
}

export function tenantView(row: TenantRow): TenantView {
  return {
    id: row.id,
    name: row.name,
    rateLimit: row.rateLimit,
    dailyCaps: row.dailyCaps,
    retentionDays: row.retentionDays,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The tenant's row, or undefined when it has none (only a bootstrap key names it). */
export async function readTenant(db: Database, id: string): Promise<TenantRow | undefined> {
  const [row] = await db.select().from(tenants).where(eq(tenants.id, id)).limit(1);
  return row;
}

/** Creates the tenant's row if it has none, inside the caller's transaction; never changes an existing one. */
export async function ensureTenant(tx: Tx, id: string): Promise<void> {
  await tx.insert(tenants).values({ id }).onConflictDoNothing();
}

/**
 * Creates or changes a tenant's stored settings and records who did it,
 * in one transaction; gateways hear of it on commit. Answers the row as stored.
 */
export async function updateTenant(
  db: Database,
  id: string,
  patch: TenantPatch,
  audit: Omit<AuditEntry, "tenantId" | "action" | "target" | "details">,
): Promise<TenantView> {
  return db.transaction(async (tx) => {
    const set = {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.rateLimit !== undefined ? { rateLimit: patch.rateLimit } : {}),
      ...(patch.dailyCaps !== undefined ? { dailyCaps: patch.dailyCaps } : {}),
      ...(patch.retentionDays !== undefined ? { retentionDays: patch.retentionDays } : {}),
    };
    const [row] = await tx
      .insert(tenants)
      .values({ id, ...set })
      .onConflictDoUpdate({ target: tenants.id, set: { ...set, updatedAt: raw`now()` } })
      .returning();
    if (row === undefined) throw new Error("the tenant upsert returned no row");
    await appendAudit(tx, { ...audit, tenantId: id, action: "tenant.updated", target: id, details: { changed: Object.keys(set), ...set } });
    await announceTenancyChange(tx, { kind: "tenant", id });
    return tenantView(row);
  });
}
