import { sql } from "drizzle-orm";
import type { Database } from "../schemas/database.ts";
import { STATUSES, TERMINAL_STATUSES, type AttemptOutcome, type Status } from "../schemas/enums.ts";
import type { Envelope } from "../schemas/envelope.ts";
import { initialStatus, type RowState } from "./plan.ts";

// Batched writes only (DESIGN §6): one statement per step, whatever the batch
// size. Each statement takes the whole batch as ONE jsonb parameter and unpacks
// it with jsonb_to_recordset: the SQL text never changes, so postgres.js
// prepares it once per connection, and building it costs nothing — the query
// builder spent more CPU assembling 256-row VALUES lists and CASE expressions
// than Postgres spent running them. Plain SQL through drizzle's session, so
// the same code runs on postgres.js and PGlite.

type Row = Record<string, unknown>;

/**
 * Runs fixed SQL as a named prepared statement. drizzle's `execute` sends every
 * statement unnamed, so Postgres parsed and planned each batch's statement
 * afresh (and postgres.js waited a round trip for its parameter types); a name
 * makes postgres.js prepare it once per connection.
 */
function runPrepared(db: Database, name: string, text: string, params: unknown[]): Promise<unknown> {
  return db._.session.prepareQuery({ sql: text, params }, undefined, name, false).execute();
}

/** postgres.js resolves `execute` to the rows themselves, PGlite to `{ rows }`. */
function rowsOf(result: unknown): Row[] {
  if (Array.isArray(result)) return result as Row[];
  if (typeof result === "object" && result !== null && "rows" in result && Array.isArray(result.rows)) return result.rows as Row[];
  throw new Error("unexpected query result shape");
}

function asStatus(value: unknown): Status {
  const found = STATUSES.find((s) => s === value);
  if (!found) throw new Error(`unknown status in the database: ${String(value)}`);
  return found;
}

function toState(r: Row): RowState {
  return { status: asStatus(r.status), attempts: Number(r.attempts), lastError: r.last_error == null ? null : String(r.last_error) };
}

const CLAIM_SQL = `
  insert into notifications (id, tenant_id, user_id, channel, type, priority, status, payload, metadata,
    idempotency_key, correlation_id, attempts, scheduled_for, created_at, updated_at)
  select id, tenant_id, user_id, channel, type, priority, status, payload, metadata,
    idempotency_key, correlation_id, 0, scheduled_for, created_at, $2::timestamptz
  from jsonb_to_recordset($1::jsonb) as x(
    id uuid, tenant_id text, user_id text, channel text, type text, priority text, status text,
    payload jsonb, metadata jsonb, idempotency_key text, correlation_id text,
    scheduled_for timestamptz, created_at timestamptz)
  on conflict do nothing
  returning id, status, attempts, last_error`;

export interface Claimed {
  /** Ids whose row this statement created. */
  firstSeen: Set<string>;
  /** The state of every id that has a row (absent: another id owns its idempotency key). */
  rows: Map<string, RowState>;
}

/**
 * Inserts the batch's new rows (redelivery and key collisions do nothing) and
 * returns the state of every row, new or old: for a batch of new notifications
 * the insert step and the read step are one statement, one commit.
 *
 * A new row that is due goes in as `processing`, not `accepted`: the batch
 * that inserts it sends it next, and an `accepted` row that the same batch
 * then marks `processing` costs Postgres a second version of the row in every
 * index (status is indexed, so the update is never HOT) — a third of the
 * batch's database time. The `accepted` event still goes out for it.
 */
export async function claim(db: Database, envelopes: Envelope[], nowMs: number): Promise<Claimed> {
  const input = JSON.stringify(
    envelopes.map((e) => ({
      id: e.id,
      tenant_id: e.tenantId,
      user_id: e.userId,
      channel: e.channel,
      type: e.type,
      priority: e.priority,
      status: initialStatus(e, nowMs) === "scheduled" ? "scheduled" : "processing",
      payload: e.payload,
      metadata: e.metadata,
      idempotency_key: e.idempotencyKey,
      correlation_id: e.correlationId,
      scheduled_for: e.scheduledFor,
      created_at: e.acceptedAt,
    })),
  );
  const result = await runPrepared(db, "herald_claim", CLAIM_SQL, [input, new Date(nowMs).toISOString()]);
  const claimed: Claimed = { firstSeen: new Set(), rows: new Map() };
  for (const r of rowsOf(result)) {
    const id = String(r.id);
    claimed.rows.set(id, toState(r));
    claimed.firstSeen.add(id);
  }
  // Redeliveries and key collisions: a second statement, only when there are
  // any, so a batch of new notifications costs one. It runs after the insert
  // committed, so it also sees rows another instance committed meanwhile.
  const existing = envelopes.map((e) => e.id).filter((id) => !claimed.rows.has(id));
  if (existing.length > 0) for (const [id, state] of await readStates(db, existing)) claimed.rows.set(id, state);
  return claimed;
}

/** The current state of the given rows, in one read. */
export async function readStates(db: Database, ids: string[]): Promise<Map<string, RowState>> {
  const result = await db.execute(sql`
    select id, status, attempts, last_error from notifications
    where id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)`);
  return new Map(rowsOf(result).map((r) => [String(r.id), toState(r)]));
}

const TERMINAL = JSON.stringify(TERMINAL_STATUSES);

/**
 * Marks the due rows `processing` in one statement and returns the ids it
 * marked. A row that turned terminal since it was read (cancelled through the
 * API meanwhile) is left alone and left out: the caller must not send it.
 * A row still `processing` (its sender crashed) is marked again and resent.
 */
export async function markProcessing(db: Database, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const result = await db.execute(sql`
    update notifications set status = 'processing', updated_at = now()
    where id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)
      and status not in (select jsonb_array_elements_text(${TERMINAL}::jsonb))
    returning id`);
  return new Set(rowsOf(result).map((r) => String(r.id)));
}

export interface OutcomeRecord {
  id: string;
  attempt: number;
  provider: string;
  outcome: AttemptOutcome;
  latencyMs: number;
  status: "sent" | "retrying" | "failed";
  error: string | null;
  /** What the sender returned for a sent attempt; null otherwise. */
  providerMessageId: string | null;
}

/**
 * All outcomes of a batch in one statement, so one commit: the attempts insert
 * (its primary key makes a replayed write a no-op) runs as a data-modifying
 * CTE of the status update.
 */
export async function writeOutcomes(db: Database, records: OutcomeRecord[]): Promise<void> {
  if (records.length === 0) return;
  const input = JSON.stringify(
    records.map((r) => ({
      id: r.id,
      attempt: r.attempt,
      provider: r.provider,
      outcome: r.outcome,
      latency_ms: r.latencyMs,
      status: r.status,
      error: r.error,
      provider_message_id: r.providerMessageId,
    })),
  );
  await runPrepared(db, "herald_write_outcomes", WRITE_OUTCOMES_SQL, [input]);
}

const WRITE_OUTCOMES_SQL = `
  with input as (
    select * from jsonb_to_recordset($1::jsonb) as x(
      id uuid, attempt int, provider text, outcome text, latency_ms int, status text, error text, provider_message_id text)
  ), attempts as (
    insert into delivery_attempts (notification_id, attempt, provider, outcome, latency_ms, error, provider_message_id)
    select id, attempt, provider, outcome, latency_ms, error, provider_message_id from input
    on conflict do nothing
  )
  update notifications n set
    status = input.status,
    attempts = input.attempt,
    -- a sent row keeps the error of the attempt before it, for the record
    last_error = coalesce(input.error, n.last_error),
    sent_at = case when input.status = 'sent' then now() else n.sent_at end,
    updated_at = now()
  from input
  where n.id = input.id`;
