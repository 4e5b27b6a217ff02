import { and, asc, eq, or } from "drizzle-orm";
import type { Database, Sql } from "../../schemas/database.ts";
import type { Suppression, SuppressionKey } from "../../schemas/delivery-reports.ts";
import { SUPPRESSION_SOURCES, type Channel, type SuppressionSource } from "../../schemas/enums.ts";
import { toStorableText } from "../../schemas/storable.ts";
import { suppressions, type SuppressionRow } from "../../schemas/tables.ts";

// The one writer of `suppressions`: addresses a tenant must not send to again
// on a channel. Rows are added, and removed only by a user's erasure, so there is no status to lock on;
// the primary key (tenant, channel, address) makes a repeated write a no-op.

export type { Suppression, SuppressionKey } from "../../schemas/delivery-reports.ts";

const E164 = /^\+[1-9]\d{1,14}$/;

/**
 * The address a notification's payload sends to, as suppressions store it:
 * email trimmed and lower-cased, SMS as E.164 (spaces, dots, dashes and
 * brackets dropped), a push device token as it is. Null for webhooks and
 * in-app notifications, which have no recipient address to suppress, and for
 * a payload without one.
 */
export function suppressionAddress(channel: Channel, payload: unknown): string | null {
  const to = typeof payload === "object" && payload !== null && "to" in payload && typeof payload.to === "string" ? payload.to : null;
  if (to === null) return null;
  switch (channel) {
    case "email": {
      const address = to.trim().toLowerCase();
      return address === "" ? null : address;
    }
    case "sms": {
      const number = to.replace(/[\s().-]/g, "");
      return E164.test(number) ? number : null;
    }
    case "push":
      return to === "" ? null : to;
    case "webhook":
    case "in_app":
      return null;
    default:
      return channel satisfies never;
  }
}

/** The key of `suppressedAmong`'s map: tenant, channel and address joined by NUL, which none of them can hold. */
export function keyOf(key: SuppressionKey): string {
  return `${key.tenantId}\u0000${key.channel}\u0000${key.address}`;
}

/**
 * Records the suppressions in one statement, however many. An address already
 * suppressed keeps its first row: the row stays one coherent record (the
 * reason, source, notification and time of what first stopped it), and the
 * repeats that are normal here (a provider retrying its callback, a push
 * service naming the same dead token for every queued message) write nothing.
 * Returns how many were new.
 */
export async function recordSuppressions(db: Sql, entries: Suppression[]): Promise<number> {
  if (entries.length === 0) return 0;
  const input = JSON.stringify(
    entries.map((e) => ({
      tenant_id: e.tenantId,
      channel: e.channel,
      address: e.address,
      // Provider answers end up here: text Postgres refuses must not lose the suppression.
      reason: toStorableText(e.reason),
      source: e.source,
      notification_id: e.notificationId,
    })),
  );
  return (await db.run(RECORD_SQL, [input])).length;
}

const RECORD_SQL = `
  insert into suppressions (tenant_id, channel, address, reason, source, notification_id)
  select tenant_id, channel, address, reason, source, notification_id
  from jsonb_to_recordset($1::jsonb) as x(tenant_id text, channel text, address text, reason text, source text, notification_id uuid)
  on conflict (tenant_id, channel, address) do nothing
  returning 1`;

/** Why an address is suppressed. */
export interface SuppressionFound {
  reason: string;
  source: SuppressionSource;
}

/**
 * Which of the keys are suppressed, in one statement whatever their count
 * (none for no keys), keyed by `keyOf`. Keys must hold addresses normalised
 * by `suppressionAddress`.
 */
export async function suppressedAmong(db: Sql, keys: SuppressionKey[]): Promise<Map<string, SuppressionFound>> {
  const found = new Map<string, SuppressionFound>();
  if (keys.length === 0) return found;
  const input = JSON.stringify(keys.map((k) => ({ tenant_id: k.tenantId, channel: k.channel, address: k.address })));
  for (const r of await db.run(AMONG_SQL, [input])) {
    const key = keyOf({ tenantId: String(r.tenant_id), channel: r.channel as Channel, address: String(r.address) });
    found.set(key, { reason: String(r.reason), source: asSource(r.source) });
  }
  return found;
}

const AMONG_SQL = `
  select s.tenant_id, s.channel, s.address, s.reason, s.source
  from suppressions s
  where (s.tenant_id, s.channel, s.address) in (
    select tenant_id, channel, address from jsonb_to_recordset($1::jsonb) as x(tenant_id text, channel text, address text))`;

function asSource(value: unknown): SuppressionSource {
  const found = SUPPRESSION_SOURCES.find((s) => s === value);
  if (!found) throw new Error(`unknown suppression source in the database: ${String(value)}`);
  return found;
}

/**
 * Deletes the tenant's suppressions of these addresses (normalised by
 * `suppressionAddress`), in one statement; how many there were. Only a
 * user's erasure removes a suppression (lib/db/erasure.ts, in its transaction).
 */
export async function deleteSuppressions(db: Database, tenantId: string, keys: Array<{ channel: Channel; address: string }>): Promise<number> {
  if (keys.length === 0) return 0;
  const deleted = await db
    .delete(suppressions)
    .where(and(eq(suppressions.tenantId, tenantId), or(...keys.map((k) => and(eq(suppressions.channel, k.channel), eq(suppressions.address, k.address))))))
    .returning({ address: suppressions.address });
  return deleted.length;
}

/** The tenant's suppressions of these addresses, as a user's export shows them. */
export async function suppressionsOf(db: Database, tenantId: string, keys: Array<{ channel: Channel; address: string }>): Promise<SuppressionRow[]> {
  if (keys.length === 0) return [];
  return db
    .select()
    .from(suppressions)
    .where(and(eq(suppressions.tenantId, tenantId), or(...keys.map((k) => and(eq(suppressions.channel, k.channel), eq(suppressions.address, k.address))))))
    .orderBy(asc(suppressions.createdAt));
}
