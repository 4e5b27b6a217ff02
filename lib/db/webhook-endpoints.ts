import { and, desc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { Database } from "../../schemas/database.ts";
import type { CreateWebhookEndpointBody, UpdateWebhookEndpointBody, WebhookEndpointView } from "../../schemas/status-webhooks.ts";
import { webhookEndpoints, type WebhookEndpointRow } from "../../schemas/tables.ts";
import type { Cursor } from "../../schemas/views.ts";
import { seal, sealingKey, unseal } from "../sealing.ts";
import { appendAudit, type AuditEntry } from "./audit.ts";
import { encodeCursor } from "./cursor.ts";
import { generateWebhookSecret } from "./webhook-secrets.ts";

// The one writer of `webhook_endpoints`: a tenant's status-webhook endpoints,
// their sealed signing secrets, and whether they are failing or disabled.
// Management changes commit with their audit entry; every read and change
// names the tenant, so another tenant's id is simply not found.

/** Who changes an endpoint and from where, for the audit log. */
export type EndpointActor = Pick<AuditEntry, "actor" | "clientAddress">;

const PURPOSE = "status webhook endpoint secrets";

/** Both secret columns of a row are bound to its tenant and endpoint, so a rotation moves the sealed text as it is. */
const contextOf = (tenantId: string, id: string) => `${tenantId}\n${id}`;

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/** The row as the API shows it, without its secrets. */
export function endpointView(row: WebhookEndpointRow): WebhookEndpointView {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes,
    enabled: row.enabled,
    disabledAt: iso(row.disabledAt),
    disabledReason: row.disabledReason,
    failingSince: iso(row.failingSince),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const ofTenant = (tenantId: string, id: string) => and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.tenantId, tenantId));

/** A new endpoint with a fresh secret, recorded as `webhook_endpoint.created`; the secret is returned this once with it. */
export async function createEndpoint(
  db: Database,
  tokenSecret: string,
  tenantId: string,
  body: CreateWebhookEndpointBody,
  by: EndpointActor,
): Promise<{ endpoint: WebhookEndpointView; secret: string }> {
  const key = await sealingKey(tokenSecret, PURPOSE);
  const id = crypto.randomUUID();
  const secret = generateWebhookSecret();
  const sealed = await seal(key, secret, contextOf(tenantId, id));
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(webhookEndpoints)
      .values({ id, tenantId, url: body.url, description: body.description ?? null, eventTypes: [...body.eventTypes], enabled: body.enabled, secret: sealed })
      .returning();
    if (row === undefined) throw new Error("the endpoint insert returned no row");
    await appendAudit(tx, { ...by, tenantId, action: "webhook_endpoint.created", target: id, details: { eventTypes: row.eventTypes, enabled: row.enabled } });
    return { endpoint: endpointView(row), secret };
  });
}

/** One page of the tenant's endpoints, newest first. */
export async function listEndpoints(db: Database, tenantId: string, page: { limit: number; cursor?: Cursor }) {
  const rows = await db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.tenantId, tenantId),
        page.cursor
          ? or(
              lt(webhookEndpoints.createdAt, new Date(page.cursor.createdAt)),
              and(eq(webhookEndpoints.createdAt, new Date(page.cursor.createdAt)), lt(webhookEndpoints.id, page.cursor.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(webhookEndpoints.createdAt), desc(webhookEndpoints.id))
    .limit(page.limit + 1);
  const shown = rows.slice(0, page.limit);
  const last = shown.at(-1);
  // Endpoints are made one request at a time, so milliseconds order them; the id breaks a tie.
  const nextCursor = rows.length > page.limit && last ? encodeCursor({ createdAt: exactMs(last.createdAt), id: last.id }) : null;
  return { data: shown.map(endpointView), nextCursor };
}

/** A millisecond time in the cursor's microsecond form. */
function exactMs(d: Date): string {
  return d.toISOString().replace("Z", "000Z");
}

export async function getEndpoint(db: Database, tenantId: string, id: string): Promise<WebhookEndpointView | null> {
  const [row] = await db.select().from(webhookEndpoints).where(ofTenant(tenantId, id));
  return row === undefined ? null : endpointView(row);
}

/**
 * Changes what `patch` names, recorded as `webhook_endpoint.updated` with the
 * fields changed. `enabled: true` clears a disable and the failing run, so the
 * endpoint gets the full time again before it can be disabled anew.
 */
export async function updateEndpoint(
  db: Database,
  tenantId: string,
  id: string,
  patch: UpdateWebhookEndpointBody,
  by: EndpointActor,
): Promise<WebhookEndpointView | null> {
  return db.transaction(async (tx) => {
    const changes = {
      ...(patch.url !== undefined ? { url: patch.url } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.eventTypes !== undefined ? { eventTypes: [...patch.eventTypes] } : {}),
      ...(patch.enabled === false ? { enabled: false } : {}),
      ...(patch.enabled === true ? { enabled: true, disabledAt: null, disabledReason: null, failingSince: null } : {}),
    };
    const [row] = await tx
      .update(webhookEndpoints)
      .set({ ...changes, updatedAt: sql`now()` })
      .where(ofTenant(tenantId, id))
      .returning();
    if (row === undefined) return null;
    await appendAudit(tx, { ...by, tenantId, action: "webhook_endpoint.updated", target: id, details: { fields: Object.keys(patch), enabled: row.enabled } });
    return endpointView(row);
  });
}

/** Deletes the endpoint and, by cascade, its deliveries; recorded as `webhook_endpoint.deleted`. */
export async function deleteEndpoint(db: Database, tenantId: string, id: string, by: EndpointActor): Promise<boolean> {
  return db.transaction(async (tx) => {
    const gone = await tx.delete(webhookEndpoints).where(ofTenant(tenantId, id)).returning({ id: webhookEndpoints.id });
    if (gone.length === 0) return false;
    await appendAudit(tx, { ...by, tenantId, action: "webhook_endpoint.deleted", target: id });
    return true;
  });
}

/** The secrets that sign an endpoint's deliveries now, the current first. */
export interface EndpointSecrets {
  /** `whsec_…`; null when sealed under another HERALD_TOKEN_SECRET (rotate to replace it). */
  secret: string | null;
  previous: { secret: string | null; expiresAt: string } | null;
}

type SecretColumns = Pick<WebhookEndpointRow, "id" | "tenantId" | "secret" | "previousSecret" | "previousSecretExpiresAt">;

/** Opens a row's secrets; the previous one only while its grace lasts. */
export async function openSecrets(key: CryptoKey, row: SecretColumns, now = new Date()): Promise<EndpointSecrets> {
  const context = contextOf(row.tenantId, row.id);
  const live = row.previousSecret !== null && row.previousSecretExpiresAt !== null && row.previousSecretExpiresAt > now;
  return {
    secret: await unseal(key, row.secret, context),
    previous:
      live && row.previousSecret !== null && row.previousSecretExpiresAt !== null
        ? { secret: await unseal(key, row.previousSecret, context), expiresAt: row.previousSecretExpiresAt.toISOString() }
        : null,
  };
}

/** The key secrets are sealed under; the processor derives it once. */
export function endpointSealingKey(tokenSecret: string): Promise<CryptoKey> {
  return sealingKey(tokenSecret, PURPOSE);
}

export async function endpointSecrets(db: Database, tokenSecret: string, tenantId: string, id: string): Promise<EndpointSecrets | null> {
  const [row] = await db.select().from(webhookEndpoints).where(ofTenant(tenantId, id));
  return row === undefined ? null : openSecrets(await endpointSealingKey(tokenSecret), row);
}

/**
 * A new current secret; the one it replaces keeps signing for `graceSeconds`
 * (0: not at all). One previous secret is kept: a second rotation within a
 * grace ends the first one's. Recorded as `webhook_endpoint.secret_rotated`.
 */
export async function rotateEndpointSecret(
  db: Database,
  tokenSecret: string,
  tenantId: string,
  id: string,
  graceSeconds: number,
  by: EndpointActor,
): Promise<{ secret: string; previousExpiresAt: string | null } | null> {
  const key = await endpointSealingKey(tokenSecret);
  const secret = generateWebhookSecret();
  const sealed = await seal(key, secret, contextOf(tenantId, id));
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(webhookEndpoints)
      .set({
        previousSecret: graceSeconds > 0 ? sql`${webhookEndpoints.secret}` : null,
        previousSecretExpiresAt: graceSeconds > 0 ? sql`now() + make_interval(secs => ${graceSeconds})` : null,
        secret: sealed,
        updatedAt: sql`now()`,
      })
      .where(ofTenant(tenantId, id))
      .returning({ previousSecretExpiresAt: webhookEndpoints.previousSecretExpiresAt });
    if (row === undefined) return null;
    await appendAudit(tx, { ...by, tenantId, action: "webhook_endpoint.secret_rotated", target: id, details: { graceSeconds } });
    return { secret, previousExpiresAt: iso(row.previousSecretExpiresAt) };
  });
}

/** The enabled endpoints of `tenants`, for matching events against. */
export async function enabledEndpointsOf(db: Database, tenants: readonly string[]): Promise<Array<Pick<WebhookEndpointRow, "id" | "tenantId" | "eventTypes">>> {
  if (tenants.length === 0) return [];
  return db
    .select({ id: webhookEndpoints.id, tenantId: webhookEndpoints.tenantId, eventTypes: webhookEndpoints.eventTypes })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.enabled, true), inArray(webhookEndpoints.tenantId, [...new Set(tenants)])));
}

/** A success ends the endpoint's failing run. */
export async function noteEndpointSuccess(db: Database, id: string): Promise<void> {
  await db
    .update(webhookEndpoints)
    .set({ failingSince: null })
    .where(and(eq(webhookEndpoints.id, id), sql`${webhookEndpoints.failingSince} is not null`));
}

/** What a failure did to its endpoint: the run goes on, or the endpoint was disabled by this failure. */
export type FailureNote = { kind: "failing"; since: Date } | { kind: "disabled"; row: WebhookEndpointRow; since: Date };

/**
 * A failure starts the failing run, or, when the run began `disableAfterMs`
 * ago or more, disables the endpoint. The update's condition is the lock: of
 * several processors noting failures at once, exactly one disables it.
 */
export async function noteEndpointFailure(db: Database, id: string, disableAfterMs: number): Promise<FailureNote | null> {
  const [started] = await db
    .update(webhookEndpoints)
    .set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, now())` })
    .where(eq(webhookEndpoints.id, id))
    .returning({ since: webhookEndpoints.failingSince, enabled: webhookEndpoints.enabled });
  if (started?.since == null) return null;
  if (!started.enabled) return { kind: "failing", since: started.since };
  const hours = (disableAfterMs / 3_600_000).toFixed(4).replace(/\.?0+$/, "");
  const [row] = await db
    .update(webhookEndpoints)
    .set({
      enabled: false,
      disabledAt: sql`now()`,
      disabledReason: `every delivery failed for ${hours} h (since ${started.since.toISOString()})`,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(webhookEndpoints.id, id),
        eq(webhookEndpoints.enabled, true),
        isNull(webhookEndpoints.disabledAt),
        sql`${webhookEndpoints.failingSince} <= now() - make_interval(secs => ${disableAfterMs / 1000})`,
      ),
    )
    .returning();
  return row === undefined ? { kind: "failing", since: started.since } : { kind: "disabled", row, since: started.since };
}
