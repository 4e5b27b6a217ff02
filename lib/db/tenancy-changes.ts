import { sql } from "drizzle-orm";
import type { Database } from "../../schemas/database.ts";

/**
 * The Postgres channel on which the writers of `api_keys` and `tenants`
 * announce a change, inside the transaction that makes it, so the
 * announcement is sent exactly when the change commits. Gateways LISTEN
 * and drop what they cached (lib/tenant-directory.ts).
 */
export const TENANCY_CHANNEL = "herald_tenancy";

/** A key (by the hash gateways cache it under) or a tenant's settings changed. */
export type TenancyChange = { kind: "key"; hash: string } | { kind: "tenant"; id: string };

type Tx = Pick<Database, "execute">;

export async function announceTenancyChange(tx: Tx, change: TenancyChange): Promise<void> {
  await tx.execute(sql`select pg_notify(${TENANCY_CHANNEL}, ${JSON.stringify(change)})`);
}

/** A payload from the channel, or null when it is not one of ours. */
export function parseTenancyChange(payload: string): TenancyChange | null {
  try {
    const value: unknown = JSON.parse(payload);
    if (typeof value !== "object" || value === null) return null;
    const { kind, hash, id } = value as Record<string, unknown>;
    if (kind === "key" && typeof hash === "string") return { kind, hash };
    if (kind === "tenant" && typeof id === "string") return { kind, id };
    return null;
  } catch {
    return null;
  }
}
