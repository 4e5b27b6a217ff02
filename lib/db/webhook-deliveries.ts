import { and, asc, desc, eq, gte, inArray, lt, sql, type SQL } from "drizzle-orm";
import type { Database } from "../../schemas/database.ts";
import type { DeliveryStatus, WebhookDeliveryAttemptView, WebhookDeliveryView } from "../../schemas/status-webhooks.ts";
import { webhookDeliveries, webhookDeliveryAttempts, type WebhookDeliveryRow } from "../../schemas/tables.ts";
import type { Cursor } from "../../schemas/views.ts";
import { appendAudit, type AuditEntry } from "./audit.ts";
import { encodeCursor } from "./cursor.ts";

// The one writer of `webhook_deliveries` and `webhook_delivery_attempts`.
// Lock rule: a `pending` row whose `next_attempt_at` has passed is free; a
// claim takes it with `for update skip locked` and leases it by moving
// `next_attempt_at` past the send's deadline and counting the attempt, so a
// processor that dies mid-send leaves it to be claimed again after the lease.
// An outcome is written only by the claim that made the attempt (`attempts`
// unchanged since), so a late answer never overwrites a newer claim's.

type Row = Record<string, unknown>;

function rowsOf(result: unknown): Row[] {
  if (Array.isArray(result)) return result as Row[];
  if (typeof result === "object" && result !== null && "rows" in result && Array.isArray(result.rows)) return result.rows as Row[];
  throw new Error("unexpected query result shape");
}

/** One event owed to one endpoint. */
export interface NewDelivery {
  endpointId: string;
  tenantId: string;
  userId: string;
  eventId: string;
  eventType: string;
  event: Record<string, unknown>;
}

/**
 * Inserts the deliveries in one statement, the rows passed as one JSON
 * parameter (the query builder's parameter per value cost more than the
 * insert); a copy of an event already owed to an endpoint adds nothing.
 * Returns how many were new.
 */
export async function enqueueDeliveries(db: Pick<Database, "execute">, rows: readonly NewDelivery[]): Promise<number> {
  if (rows.length === 0) return 0;
  const input = JSON.stringify(
    rows.map((r) => ({
      id: crypto.randomUUID(),
      endpoint_id: r.endpointId,
      tenant_id: r.tenantId,
      user_id: r.userId,
      event_id: r.eventId,
      event_type: r.eventType,
      event: r.event,
    })),
  );
  const result = await db.execute(sql`
    insert into webhook_deliveries (id, endpoint_id, tenant_id, user_id, event_id, event_type, event)
    select id, endpoint_id, tenant_id, user_id, event_id, event_type, event
    from jsonb_to_recordset(${input}::jsonb) as x(id uuid, endpoint_id uuid, tenant_id text, user_id text, event_id text, event_type text, event jsonb)
    on conflict (endpoint_id, event_id) do nothing
    returning id`);
  return rowsOf(result).length;
}

/** A delivery claimed for one attempt, with what sending it needs from its endpoint. */
export interface ClaimedDelivery {
  id: string;
  endpointId: string;
  tenantId: string;
  event: Record<string, unknown>;
  /** This attempt's number over the delivery's life. */
  attempt: number;
  /** This attempt's place in the retry schedule (1-based). */
  roundAttempt: number;
  url: string;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
}

export interface ClaimOptions {
  /** At most this many rows. */
  limit: number;
  /** At most this many rows of one endpoint, so a backlog on one leaves room for the others. */
  perEndpoint: number;
  /** Endpoints to pass over: those already at their share of the sends in flight here. */
  skipEndpoints: readonly string[];
  /** How long a claim holds the row: past the send's deadline. */
  leaseMs: number;
}

/**
 * Claims due deliveries of enabled endpoints, at most `perEndpoint` of each,
 * endpoints in random order so none is always first; see the lock rule above.
 */
export async function claimDue(db: Database, opts: ClaimOptions): Promise<ClaimedDelivery[]> {
  if (opts.limit <= 0) return [];
  const skip = `{${opts.skipEndpoints.join(",")}}`;
  const result = await db.execute(sql`
    with picked as (
      select d.id
      from webhook_endpoints e
      cross join lateral (
        select d.id from webhook_deliveries d
        where d.endpoint_id = e.id and d.status = 'pending' and d.next_attempt_at <= now()
        order by d.next_attempt_at
        limit ${opts.perEndpoint}
        for update of d skip locked
      ) d
      where e.enabled and not (e.id = any(${skip}::uuid[]))
      order by random()
      limit ${opts.limit}
    )
    update webhook_deliveries w
    set next_attempt_at = now() + make_interval(secs => ${opts.leaseMs / 1000}),
        attempts = w.attempts + 1, round_attempts = w.round_attempts + 1, last_attempt_at = now()
    from picked, webhook_endpoints e
    where w.id = picked.id and e.id = w.endpoint_id
    returning w.id, w.endpoint_id, w.tenant_id, w.event, w.attempts, w.round_attempts,
              e.url, e.secret, e.previous_secret, e.previous_secret_expires_at`);
  return rowsOf(result).map((r) => ({
    id: String(r.id),
    endpointId: String(r.endpoint_id),
    tenantId: String(r.tenant_id),
    event: (typeof r.event === "string" ? JSON.parse(r.event) : r.event) as Record<string, unknown>,
    attempt: Number(r.attempts),
    roundAttempt: Number(r.round_attempts),
    url: String(r.url),
    secret: String(r.secret),
    previousSecret: r.previous_secret == null ? null : String(r.previous_secret),
    previousSecretExpiresAt: r.previous_secret_expires_at == null ? null : new Date(String(r.previous_secret_expires_at)),
  }));
}

/** What one POST came to. */
export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
}

/**
 * Records an attempt and moves the delivery on in one transaction:
 * `delivered`, `pending` until `retryInS` from now, or `failed` when
 * `retryInS` is null (the schedule is spent). Returns the status written, or
 * null when another claim has taken the row since.
 */
export async function recordAttempt(db: Database, d: ClaimedDelivery, result: AttemptResult, retryInS: number | null): Promise<DeliveryStatus | null> {
  return recording(db, d, result, retryInS).catch((err: unknown) => {
    // The endpoint was deleted during the POST, and its deliveries with it: nothing is left to record.
    if (isForeignKeyViolation(err)) return null;
    throw err;
  });
}

/** SQLSTATE 23503 on the error or one it wraps (drizzle wraps the driver's); durable.ts's helper is not for the gateway's import graph (it uses Bun). */
function isForeignKeyViolation(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === "object" && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === "23503") return true;
  }
  return false;
}

function recording(db: Database, d: ClaimedDelivery, result: AttemptResult, retryInS: number | null): Promise<DeliveryStatus | null> {
  return db.transaction(async (tx) => {
    await tx
      .insert(webhookDeliveryAttempts)
      .values({
        deliveryId: d.id,
        attempt: d.attempt,
        statusCode: result.statusCode,
        latencyMs: Math.round(result.latencyMs),
        error: result.error,
        responseBody: result.responseBody,
      })
      .onConflictDoNothing();
    const status: DeliveryStatus = result.ok ? "delivered" : retryInS === null ? "failed" : "pending";
    const moved = await tx
      .update(webhookDeliveries)
      .set({
        status,
        lastStatusCode: result.statusCode,
        lastError: result.ok ? null : result.error,
        ...(result.ok ? { deliveredAt: sql`now()` } : {}),
        ...(status === "pending" ? { nextAttemptAt: sql`now() + make_interval(secs => ${retryInS ?? 0})` } : {}),
      })
      .where(and(eq(webhookDeliveries.id, d.id), eq(webhookDeliveries.attempts, d.attempt), eq(webhookDeliveries.status, "pending")))
      .returning({ id: webhookDeliveries.id });
    return moved.length > 0 ? status : null;
  });
}

/** The pending deliveries of a disabled endpoint join its dead list, with `reason`. */
export async function failPending(db: Database, endpointId: string, reason: string): Promise<number> {
  const rows = await db
    .update(webhookDeliveries)
    .set({ status: "failed", lastError: reason })
    .where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.status, "pending")))
    .returning({ id: webhookDeliveries.id });
  return rows.length;
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

function deliveryView(row: WebhookDeliveryRow): WebhookDeliveryView {
  return {
    id: row.id,
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === "pending" ? row.nextAttemptAt.toISOString() : null,
    lastAttemptAt: iso(row.lastAttemptAt),
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    deliveredAt: iso(row.deliveredAt),
  };
}

const createdAtExact = sql<string>`to_char(${webhookDeliveries.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** One page of an endpoint's deliveries, newest first, optionally of one status and created since a time. */
export async function listDeliveries(
  db: Database,
  tenantId: string,
  endpointId: string,
  q: { status?: DeliveryStatus; since?: string; limit: number; cursor?: Cursor },
): Promise<{ data: WebhookDeliveryView[]; nextCursor: string | null }> {
  const filters: Array<SQL | undefined> = [
    eq(webhookDeliveries.endpointId, endpointId),
    eq(webhookDeliveries.tenantId, tenantId),
    q.status ? eq(webhookDeliveries.status, q.status) : undefined,
    q.since ? gte(webhookDeliveries.createdAt, new Date(q.since)) : undefined,
    q.cursor ? sql`(${webhookDeliveries.createdAt}, ${webhookDeliveries.id}) < (${q.cursor.createdAt}::timestamptz, ${q.cursor.id}::uuid)` : undefined,
  ];
  const rows = await db
    .select({ row: webhookDeliveries, cursorAt: createdAtExact })
    .from(webhookDeliveries)
    .where(and(...filters))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(q.limit + 1);
  const shown = rows.slice(0, q.limit);
  const last = shown.at(-1);
  return {
    data: shown.map((r) => deliveryView(r.row)),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ createdAt: last.cursorAt, id: last.row.id }) : null,
  };
}

/** A delivery's attempts, oldest first; null when the endpoint of this tenant has no such delivery. */
export async function listDeliveryAttempts(
  db: Database,
  tenantId: string,
  endpointId: string,
  deliveryId: string,
): Promise<WebhookDeliveryAttemptView[] | null> {
  const [owner] = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.tenantId, tenantId)));
  if (owner === undefined) return null;
  const rows = await db
    .select()
    .from(webhookDeliveryAttempts)
    .where(eq(webhookDeliveryAttempts.deliveryId, deliveryId))
    .orderBy(asc(webhookDeliveryAttempts.attempt));
  return rows.map((r) => ({
    attempt: r.attempt,
    statusCode: r.statusCode,
    latencyMs: r.latencyMs,
    error: r.error,
    responseBody: r.responseBody,
    at: r.createdAt.toISOString(),
  }));
}

/** Who asked for a replay, for the audit log. */
export type ReplayActor = Pick<AuditEntry, "actor" | "clientAddress">;

/** Queued again now, with the whole retry schedule ahead. */
const requeued = { status: "pending" as const, roundAttempts: 0, nextAttemptAt: sql`now()` };

/**
 * "Recover failed messages since T": every failed delivery of the endpoint
 * created in [since, until) is queued again, recorded as
 * `webhook_endpoint.replayed`. Idempotent: a second call finds them pending
 * or delivered and queues none. Returns how many were queued.
 */
export async function replayFailed(
  db: Database,
  tenantId: string,
  endpointId: string,
  range: { since: string; until?: string },
  by: ReplayActor,
): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .update(webhookDeliveries)
      .set(requeued)
      .where(
        and(
          eq(webhookDeliveries.endpointId, endpointId),
          eq(webhookDeliveries.tenantId, tenantId),
          eq(webhookDeliveries.status, "failed"),
          gte(webhookDeliveries.createdAt, new Date(range.since)),
          range.until ? lt(webhookDeliveries.createdAt, new Date(range.until)) : undefined,
        ),
      )
      .returning({ id: webhookDeliveries.id });
    await appendAudit(tx, { ...by, tenantId, action: "webhook_endpoint.replayed", target: endpointId, details: { ...range, queued: rows.length } });
    return rows.length;
  });
}

/** Queues one delivered or failed delivery again (`queued`); a pending one is already queued. */
export async function retryDelivery(
  db: Database,
  tenantId: string,
  endpointId: string,
  deliveryId: string,
  by: ReplayActor,
): Promise<"queued" | "pending" | "missing"> {
  return db.transaction(async (tx) => {
    const mine = and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.tenantId, tenantId));
    const rows = await tx
      .update(webhookDeliveries)
      .set(requeued)
      .where(and(mine, inArray(webhookDeliveries.status, ["failed", "delivered"])))
      .returning({ id: webhookDeliveries.id });
    if (rows.length === 0) {
      const [found] = await tx.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(mine);
      return found === undefined ? "missing" : "pending";
    }
    await appendAudit(tx, { ...by, tenantId, action: "webhook_delivery.retried", target: deliveryId, details: { endpointId } });
    return "queued";
  });
}

/**
 * Deletes the deliveries (and their attempts) older than their tenant's
 * retention (`tenants.retention_days`, else `defaultDays`), as notifications
 * go; a pending one is kept until it ends. `batch` rows a statement, until none
 * is left or `signal` aborts. Returns how many went.
 */
export async function pruneDeliveries(
  db: Pick<Database, "execute">,
  defaultDays: number,
  opts: { batch?: number; signal?: AbortSignal } = {},
): Promise<number> {
  const batch = opts.batch ?? 1000;
  let total = 0;
  for (;;) {
    if (opts.signal?.aborted) return total;
    const result = await db.execute(sql`
      delete from webhook_deliveries where id in (
        select d.id from webhook_deliveries d left join tenants t on t.id = d.tenant_id
        where d.created_at < now() - make_interval(days => (select least(${defaultDays}::int, min(retention_days)) from tenants))
          and d.created_at < now() - make_interval(days => coalesce(t.retention_days, ${defaultDays}::int))
          and d.status <> 'pending'
        limit ${batch}
      ) returning id`);
    const n = rowsOf(result).length;
    total += n;
    if (n < batch) return total;
  }
}

/** A user's erasure: the deliveries whose events name them. */
export async function eraseUserDeliveries(db: Pick<Database, "delete">, tenantId: string, userId: string): Promise<number> {
  const rows = await db
    .delete(webhookDeliveries)
    .where(and(eq(webhookDeliveries.tenantId, tenantId), eq(webhookDeliveries.userId, userId)))
    .returning({ id: webhookDeliveries.id });
  return rows.length;
}
