import { and, desc, eq, inArray, isNull, lt, or, sql as raw } from "drizzle-orm";
import type { Database } from "../../schemas/database.ts";
import type { ApiKeyScope } from "../../schemas/enums.ts";
import { apiKeys, type ApiKeyRow } from "../../schemas/tables.ts";
import { apiKeyPrefix, generateApiKey } from "../api-key.ts";
import { appendAudit, type AuditEntry } from "./audit.ts";
import { announceTenancyChange } from "./tenancy-changes.ts";
import { ensureTenant } from "./tenants.ts";

// The one writer of `api_keys`. Only a key's SHA-256 is stored; the key is
// returned once, by `createApiKey` and `rotateApiKey`. Each change commits
// with its audit entry and is announced on the tenancy channel, so every
// gateway drops its cached copy of the key when the change commits.

/** Who changes a key and from where, for the audit log. */
export type KeyActor = Pick<AuditEntry, "actor" | "clientAddress">;

/** A key as lists show it: never its text or hash. */
export interface ApiKeyView {
  id: string;
  tenantId: string;
  name: string | null;
  prefix: string;
  scopes: ApiKeyScope[];
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  rotatedFrom: string | null;
}

/** A key just made: its view and, this once, the key itself. */
export interface IssuedApiKey extends ApiKeyView {
  key: string;
}

/** What a gateway needs to authenticate with a key found by its hash. */
export interface KeyRecord {
  id: string;
  tenantId: string;
  scopes: ApiKeyScope[];
  expiresAt: Date | null;
  revokedAt: Date | null;
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

export function apiKeyView(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    tenantId: row.tenantId,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: iso(row.expiresAt),
    revokedAt: iso(row.revokedAt),
    lastUsedAt: iso(row.lastUsedAt),
    rotatedFrom: row.rotatedFrom,
  };
}

/** Lower-case hex SHA-256 of a key's text: what is stored and looked up. */
export async function hashApiKey(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];

async function insertKey(
  tx: Tx,
  spec: { tenantId: string; scopes: ApiKeyScope[]; name: string | null; expiresAt: Date | null; rotatedFrom: string | null; createdBy: string },
): Promise<IssuedApiKey> {
  const key = generateApiKey();
  const hash = await hashApiKey(key);
  const [row] = await tx
    .insert(apiKeys)
    .values({ id: crypto.randomUUID(), prefix: apiKeyPrefix(key), hash, ...spec, scopes: [...new Set(spec.scopes)] })
    .returning();
  if (row === undefined) throw new Error("the key insert returned no row");
  // A gateway may have cached the hash as unknown; it must look again.
  await announceTenancyChange(tx, { kind: "key", hash });
  return { ...apiKeyView(row), key };
}

/** Makes a key for the tenant (and the tenant's row, if it had none), recorded as `api_key.created`. */
export async function createApiKey(
  db: Database,
  spec: { tenantId: string; scopes: ApiKeyScope[]; name?: string | null; expiresAt?: Date | null },
  by: KeyActor,
): Promise<IssuedApiKey> {
  return db.transaction(async (tx) => {
    await ensureTenant(tx, spec.tenantId);
    const issued = await insertKey(tx, {
      tenantId: spec.tenantId,
      scopes: spec.scopes,
      name: spec.name ?? null,
      expiresAt: spec.expiresAt ?? null,
      rotatedFrom: null,
      createdBy: by.actor,
    });
    await appendAudit(tx, {
      ...by,
      tenantId: spec.tenantId,
      action: "api_key.created",
      target: issued.id,
      details: { scopes: issued.scopes, prefix: issued.prefix, expiresAt: issued.expiresAt },
    });
    return issued;
  });
}

/** One key's row, or undefined; `tenantId` given: only that tenant's. */
export async function readApiKey(db: Database, id: string, tenantId?: string): Promise<ApiKeyView | undefined> {
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), tenantId === undefined ? undefined : eq(apiKeys.tenantId, tenantId)))
    .limit(1);
  return row === undefined ? undefined : apiKeyView(row);
}

/** Newest first, `limit` a page; `after` is the last id of the previous page. */
export async function listApiKeys(
  db: Database,
  opts: { tenantId?: string; limit: number; after?: string },
): Promise<{ data: ApiKeyView[]; next: string | null }> {
  const position =
    opts.after === undefined
      ? undefined
      : or(
          lt(apiKeys.createdAt, raw`(select created_at from api_keys where id = ${opts.after})`),
          and(eq(apiKeys.createdAt, raw`(select created_at from api_keys where id = ${opts.after})`), lt(apiKeys.id, opts.after)),
        );
  const rows = await db
    .select()
    .from(apiKeys)
    .where(and(opts.tenantId === undefined ? undefined : eq(apiKeys.tenantId, opts.tenantId), position))
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(opts.limit + 1);
  const page = rows.slice(0, opts.limit).map(apiKeyView);
  return { data: page, next: rows.length > opts.limit ? (page.at(-1)?.id ?? null) : null };
}

/**
 * A new key with the old one's tenant, scopes and name; the old one keeps
 * working until now + `graceSeconds` (0: at once), or its own earlier expiry.
 * Undefined when there is no such live key (unknown, another tenant's, revoked).
 */
export async function rotateApiKey(
  db: Database,
  id: string,
  opts: { graceSeconds: number; tenantId?: string },
  by: KeyActor,
): Promise<{ issued: IssuedApiKey; oldExpiresAt: string } | undefined> {
  return db.transaction(async (tx) => {
    const [old] = await tx
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt), opts.tenantId === undefined ? undefined : eq(apiKeys.tenantId, opts.tenantId)))
      .for("update")
      .limit(1);
    if (old === undefined) return undefined;
    const [ended] = await tx
      .update(apiKeys)
      .set({ expiresAt: raw`least(coalesce(${apiKeys.expiresAt}, 'infinity'), now() + make_interval(secs => ${opts.graceSeconds}))` })
      .where(eq(apiKeys.id, id))
      .returning({ expiresAt: apiKeys.expiresAt, hash: apiKeys.hash });
    if (ended === undefined || ended.expiresAt === null) throw new Error("the rotated key's expiry was not stored");
    await announceTenancyChange(tx, { kind: "key", hash: ended.hash });
    const issued = await insertKey(tx, {
      tenantId: old.tenantId,
      scopes: old.scopes,
      name: old.name,
      expiresAt: old.expiresAt,
      rotatedFrom: old.id,
      createdBy: by.actor,
    });
    await appendAudit(tx, {
      ...by,
      tenantId: old.tenantId,
      action: "api_key.rotated",
      target: old.id,
      details: { newKeyId: issued.id, graceSeconds: opts.graceSeconds, oldExpiresAt: ended.expiresAt.toISOString() },
    });
    return { issued, oldExpiresAt: ended.expiresAt.toISOString() };
  });
}

/** Ends a key now; gateways hear of it on commit. Undefined when there is no such key (or it is another tenant's). */
export async function revokeApiKey(db: Database, id: string, opts: { tenantId?: string }, by: KeyActor): Promise<ApiKeyView | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: raw`coalesce(${apiKeys.revokedAt}, now())` })
      .where(and(eq(apiKeys.id, id), opts.tenantId === undefined ? undefined : eq(apiKeys.tenantId, opts.tenantId)))
      .returning();
    if (row === undefined) return undefined;
    await announceTenancyChange(tx, { kind: "key", hash: row.hash });
    await appendAudit(tx, { ...by, tenantId: row.tenantId, action: "api_key.revoked", target: row.id, details: { prefix: row.prefix } });
    return apiKeyView(row);
  });
}

/** The key stored under `hash`, live or not: the gateway decides (and caches) what a revoked or expired one means. */
export async function findApiKeyByHash(db: Database, hash: string): Promise<KeyRecord | undefined> {
  const [row] = await db
    .select({ id: apiKeys.id, tenantId: apiKeys.tenantId, scopes: apiKeys.scopes, expiresAt: apiKeys.expiresAt, revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .where(eq(apiKeys.hash, hash))
    .limit(1);
  return row;
}

/** Stamps `last_used_at` on keys a gateway saw used since its last flush: one statement, not one per request. */
export async function touchApiKeys(db: Database, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(apiKeys)
    .set({ lastUsedAt: raw`now()` })
    .where(inArray(apiKeys.id, [...ids]));
}
