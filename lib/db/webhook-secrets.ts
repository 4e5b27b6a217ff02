import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, lte, or, sql } from "drizzle-orm";
import type { Database } from "../../schemas/database.ts";
import { webhookSecrets, type WebhookSecretRow } from "../../schemas/tables.ts";
import { MAX_ACTIVE_WEBHOOK_SECRETS, type WebhookSecretView } from "../../schemas/webhook-secrets.ts";
import { seal, sealingKey, unseal } from "../sealing.ts";
import { appendAudit, type AuditEntry } from "./audit.ts";

// The one writer of `webhook_secrets`. A tenant has at most one current secret
// (expires_at null) and the rotated-out ones still in their grace; webhooks
// are signed with all of them. Each value is sealed under HERALD_TOKEN_SECRET
// and bound to its tenant and id. A rotation and a revocation each commit with
// their audit entry; rotations of one tenant are serialised by an advisory
// lock, so two at once cannot leave two current secrets.

/** Who changes a tenant's secrets and from where, for the audit log. */
export type SecretActor = Pick<AuditEntry, "actor" | "clientAddress">;

const PURPOSE = "webhook signing secrets";
const PREFIX = "whsec_";
const RANDOM_BYTES = 24;

type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];

/** `whsec_` and the base64 of 24 random bytes, as Standard Webhooks receivers take it. */
export function generateWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(RANDOM_BYTES));
  return PREFIX + btoa(String.fromCharCode(...bytes));
}

/** What a sealed value is bound to: a value copied into another row or tenant does not open. */
const contextOf = (tenantId: string, id: string) => `${tenantId}\n${id}`;

const live = () => or(isNull(webhookSecrets.expiresAt), gt(webhookSecrets.expiresAt, sql`now()`));

async function view(key: CryptoKey, row: WebhookSecretRow): Promise<WebhookSecretView> {
  return {
    id: row.id,
    secret: await unseal(key, row.secret, contextOf(row.tenantId, row.id)),
    current: row.expiresAt === null,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt === null ? null : row.expiresAt.toISOString(),
  };
}

/** The tenant's secrets that sign right now, the current one first, then newest first. */
export async function listWebhookSecrets(db: Database, tokenSecret: string, tenantId: string): Promise<WebhookSecretView[]> {
  const key = await sealingKey(tokenSecret, PURPOSE);
  const rows = await db
    .select()
    .from(webhookSecrets)
    .where(and(eq(webhookSecrets.tenantId, tenantId), live()))
    .orderBy(sql`${webhookSecrets.expiresAt} is null desc`, desc(webhookSecrets.createdAt));
  return Promise.all(rows.map((row) => view(key, row)));
}

export type Rotation =
  | { kind: "rotated"; secret: WebhookSecretView & { secret: string }; previous: { id: string; expiresAt: string } | null }
  /** As many secrets as allowed are valid; the earliest grace ends in `retryAfterSeconds`. */
  | { kind: "limit"; active: number; retryAfterSeconds: number };

/**
 * A new current secret for the tenant; the one it replaces keeps signing until
 * now + `graceSeconds` (0: it ends now). The first secret of a tenant is
 * `webhook_secret.created`, later ones `webhook_secret.rotated`. Refused
 * (`limit`) when the rotation would leave more than MAX_ACTIVE_WEBHOOK_SECRETS
 * valid. Rows whose grace ended are deleted on the way.
 */
export async function rotateWebhookSecret(db: Database, tokenSecret: string, tenantId: string, graceSeconds: number, by: SecretActor): Promise<Rotation> {
  const key = await sealingKey(tokenSecret, PURPOSE);
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`herald.webhook_secrets:${tenantId}`}, 0))`);
    await tx.delete(webhookSecrets).where(and(eq(webhookSecrets.tenantId, tenantId), lte(webhookSecrets.expiresAt, sql`now()`)));
    const active = await tx
      .select({ id: webhookSecrets.id, expiresAt: webhookSecrets.expiresAt })
      .from(webhookSecrets)
      .where(eq(webhookSecrets.tenantId, tenantId))
      .orderBy(asc(webhookSecrets.expiresAt));
    // The one replaced stays valid only with a grace; the new one always counts.
    const after = active.length + 1 - (graceSeconds === 0 && active.some((r) => r.expiresAt === null) ? 1 : 0);
    if (after > MAX_ACTIVE_WEBHOOK_SECRETS) {
      const first = active.find((r) => r.expiresAt !== null)?.expiresAt;
      const retryAfterSeconds = first ? Math.max(1, Math.ceil((first.getTime() - Date.now()) / 1000)) : 1;
      return { kind: "limit", active: active.length, retryAfterSeconds };
    }
    const previous = await endCurrent(tx, tenantId, graceSeconds);
    const secret = await insertSecret(tx, key, tenantId);
    await appendAudit(tx, {
      ...by,
      tenantId,
      action: previous ? "webhook_secret.rotated" : "webhook_secret.created",
      target: secret.id,
      details: previous ? { previousId: previous.id, graceSeconds, previousExpiresAt: previous.expiresAt } : {},
    });
    return { kind: "rotated", secret, previous };
  });
}

async function endCurrent(tx: Tx, tenantId: string, graceSeconds: number): Promise<{ id: string; expiresAt: string } | null> {
  const [ended] = await tx
    .update(webhookSecrets)
    .set({ expiresAt: sql`now() + make_interval(secs => ${graceSeconds})` })
    .where(and(eq(webhookSecrets.tenantId, tenantId), isNull(webhookSecrets.expiresAt)))
    .returning({ id: webhookSecrets.id, expiresAt: webhookSecrets.expiresAt });
  if (ended === undefined) return null;
  if (ended.expiresAt === null) throw new Error("the rotated secret's expiry was not stored");
  return { id: ended.id, expiresAt: ended.expiresAt.toISOString() };
}

async function insertSecret(tx: Tx, key: CryptoKey, tenantId: string): Promise<WebhookSecretView & { secret: string }> {
  const id = crypto.randomUUID();
  const secret = generateWebhookSecret();
  const [row] = await tx
    .insert(webhookSecrets)
    .values({ id, tenantId, secret: await seal(key, secret, contextOf(tenantId, id)) })
    .returning();
  if (row === undefined) throw new Error("the secret insert returned no row");
  return { id, secret, current: true, createdAt: row.createdAt.toISOString(), expiresAt: null };
}

/**
 * Ends a rotated-out secret before its grace is over (its row is deleted),
 * recorded as `webhook_secret.revoked`. `current`: the current secret, which
 * only a rotation replaces; `missing`: no such live secret of this tenant.
 */
export async function revokeWebhookSecret(db: Database, tenantId: string, id: string, by: SecretActor): Promise<"revoked" | "current" | "missing"> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ expiresAt: webhookSecrets.expiresAt })
      .from(webhookSecrets)
      .where(and(eq(webhookSecrets.id, id), eq(webhookSecrets.tenantId, tenantId), live()))
      .for("update");
    if (row === undefined) return "missing";
    if (row.expiresAt === null) return "current";
    await tx.delete(webhookSecrets).where(and(eq(webhookSecrets.id, id), isNotNull(webhookSecrets.expiresAt)));
    await appendAudit(tx, { ...by, tenantId, action: "webhook_secret.revoked", target: id, details: { graceWasUntil: row.expiresAt.toISOString() } });
    return "revoked";
  });
}

/** One tenant's secrets as the processor signs with them. */
export interface SigningSecrets {
  /** `whsec_…` values with when each stops signing (null: current). */
  secrets: Array<{ secret: string; expiresAt: Date | null }>;
  /** Rows that did not open: sealed under another HERALD_TOKEN_SECRET, or none is set. */
  unreadable: number;
}

/**
 * The live secrets of each of `tenants`, in one query; a tenant without any is
 * left out of the map (its webhooks are signed with HERALD_WEBHOOK_SECRET).
 * Without `tokenSecret` every row counts as unreadable.
 */
export async function signingSecretsOf(db: Database, tokenSecret: string | undefined, tenants: readonly string[]): Promise<Map<string, SigningSecrets>> {
  const found = new Map<string, SigningSecrets>();
  if (tenants.length === 0) return found;
  const rows = await db
    .select()
    .from(webhookSecrets)
    .where(and(inArray(webhookSecrets.tenantId, [...new Set(tenants)]), live()))
    .orderBy(sql`${webhookSecrets.expiresAt} is null desc`, desc(webhookSecrets.createdAt));
  const key = tokenSecret === undefined ? undefined : await sealingKey(tokenSecret, PURPOSE);
  for (const row of rows) {
    let entry = found.get(row.tenantId);
    if (entry === undefined) {
      entry = { secrets: [], unreadable: 0 };
      found.set(row.tenantId, entry);
    }
    const secret = key === undefined ? null : await unseal(key, row.secret, contextOf(row.tenantId, row.id));
    if (secret === null) entry.unreadable += 1;
    else entry.secrets.push({ secret, expiresAt: row.expiresAt });
  }
  return found;
}
