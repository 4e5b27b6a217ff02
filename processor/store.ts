import { sql } from "drizzle-orm";
import type { Database } from "../schemas/database.ts";
import { STATUSES, TERMINAL_STATUSES, type AttemptOutcome, type Status } from "../schemas/enums.ts";
import type { Envelope } from "../schemas/envelope.ts";
import { toStorableText } from "../schemas/storable.ts";
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
  return {
    status: asStatus(r.status),
    attempts: Number(r.attempts),
    lastError: r.last_error == null ? null : String(r.last_error),
    requestHash: r.request_hash == null ? null : String(r.request_hash),
  };
}

const CLAIM_SQL = `
  insert into notifications (id, tenant_id, user_id, channel, type, priority, status, payload, metadata,
    idempotency_key, request_hash, correlation_id, attempts, scheduled_for, created_at, updated_at)
  select id, tenant_id, user_id, channel, type, priority, status, payload, metadata,
    idempotency_key, request_hash, correlation_id, attempts, scheduled_for, created_at, $2::timestamptz
  from jsonb_to_recordset($1::jsonb) as x(
    id uuid, tenant_id text, user_id text, channel text, type text, priority text, status text, attempts int,
    payload jsonb, metadata jsonb, idempotency_key text, request_hash text, correlation_id text,
    scheduled_for timestamptz, created_at timestamptz)
  on conflict (id) do nothing
  returning id, status, attempts, last_error, request_hash`;

export interface Claimed {
  /** Ids whose row this statement created. */
  firstSeen: Set<string>;
  /** The state of every id that has a row. */
  rows: Map<string, RowState>;
}

/**
 * Inserts the batch's new rows (a redelivered id does nothing) and returns the
 * state of every row, new or old: for a batch of new notifications the insert
 * step and the read step are one statement, one commit. A second id with a
 * taken idempotency key is a unique violation, not a silent skip: the caller
 * isolates it like any row Postgres refuses.
 *
 * A new row that is due goes in as `processing` with its first attempt begun,
 * not `accepted`: the batch that inserts it sends it next, and an `accepted`
 * row that the same batch then marks `processing` costs Postgres a second
 * version of the row in every index (status is indexed, so the update is
 * never HOT). The `accepted` event still goes out for it.
 */
export async function claim(db: Database, envelopes: Envelope[], nowMs: number, stamp: string = batchStamp(nowMs)): Promise<Claimed> {
  const input = JSON.stringify(
    envelopes.map((e) => ({
      id: e.id,
      tenant_id: e.tenantId,
      user_id: e.userId,
      channel: e.channel,
      type: e.type,
      priority: e.priority,
      status: initialStatus(e, nowMs) === "scheduled" ? "scheduled" : "processing",
      attempts: initialStatus(e, nowMs) === "scheduled" ? 0 : 1,
      payload: e.payload,
      metadata: e.metadata,
      idempotency_key: e.idempotencyKey,
      request_hash: e.requestHash ?? null,
      correlation_id: e.correlationId,
      scheduled_for: e.scheduledFor,
      created_at: e.acceptedAt,
    })),
  );
  const result = await runPrepared(db, "herald_claim", CLAIM_SQL, [input, stamp]);
  const claimed: Claimed = { firstSeen: new Set(), rows: new Map() };
  for (const r of rowsOf(result)) {
    const id = String(r.id);
    claimed.rows.set(id, toState(r));
    claimed.firstSeen.add(id);
  }
  // Redeliveries: a second statement, only when there are any, so a batch of
  // new notifications costs one. It runs after the insert committed, so it
  // also sees rows another instance committed meanwhile. A row carrying this
  // batch's stamp was inserted by this claim on an earlier try whose answer
  // was lost: it is still first seen here.
  const existing = envelopes.map((e) => e.id).filter((id) => !claimed.rows.has(id));
  if (existing.length > 0) {
    const rows = rowsOf(await runPrepared(db, "herald_claim_read", CLAIM_READ_SQL, [JSON.stringify(existing), stamp]));
    for (const r of rows) {
      const id = String(r.id);
      claimed.rows.set(id, toState(r));
      if (r.mine === true) claimed.firstSeen.add(id);
    }
  }
  return claimed;
}

const CLAIM_READ_SQL = `
  select id, status, attempts, last_error, request_hash, updated_at = $2::timestamptz as mine from notifications
  where id in (select jsonb_array_elements_text($1::jsonb)::uuid)`;

/**
 * A batch's write stamp: its clock time with random microseconds, written as
 * `updated_at` by its claim and its attempt starts. A retried statement
 * (its first try committed but the answer was lost) recognises its own rows by it.
 */
export function batchStamp(nowMs: number): string {
  const micros = Math.floor(Math.random() * 1000).toString().padStart(3, "0");
  return new Date(nowMs).toISOString().replace("Z", `${micros}Z`);
}

/** The current state of the given rows, in one read. */
export async function readStates(db: Database, ids: string[]): Promise<Map<string, RowState>> {
  const result = await db.execute(sql`
    select id, status, attempts, last_error, request_hash from notifications
    where id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)`);
  return new Map(rowsOf(result).map((r) => [String(r.id), toState(r)]));
}

const TERMINAL = JSON.stringify(TERMINAL_STATUSES);

/** An attempt about to be made on a row read with `attempt - 1` attempts. */
export interface AttemptStart {
  id: string;
  attempt: number;
}

/**
 * Begins the attempts in one statement: each row goes `processing` with its
 * attempt counted before the send, and only from the attempt count it was
 * read with and a status that is not terminal. Returns the ids it began; a
 * row left out was cancelled meanwhile or begun by another consumer, and the
 * caller must not send it. Counting before the send means an attempt cut
 * short by a crash still uses up budget and is recorded as `interrupted`.
 */
export async function beginAttempts(db: Database, starts: AttemptStart[], stamp: string = batchStamp(Date.now())): Promise<Set<string>> {
  if (starts.length === 0) return new Set();
  const result = await runPrepared(db, "herald_begin_attempts", BEGIN_ATTEMPTS_SQL, [JSON.stringify(starts), TERMINAL, stamp]);
  return new Set(rowsOf(result).map((r) => String(r.id)));
}

// The second branch is this batch's own earlier try, committed with its answer lost.
const BEGIN_ATTEMPTS_SQL = `
  update notifications n set status = 'processing', attempts = x.attempt, updated_at = $3::timestamptz
  from jsonb_to_recordset($1::jsonb) as x(id uuid, attempt int)
  where n.id = x.id
    and ((n.attempts = x.attempt - 1 and n.status not in (select jsonb_array_elements_text($2::jsonb)))
      or (n.attempts = x.attempt and n.status = 'processing' and n.updated_at = $3::timestamptz))
  returning n.id`;

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
  /** An earlier attempt that began and never finished (the processor stopped during it), recorded with this one. */
  interrupted?: number | null;
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
      // Provider answers end up here: text Postgres refuses must not fail the batch.
      error: r.error === null ? null : toStorableText(r.error),
      provider_message_id: r.providerMessageId === null ? null : toStorableText(r.providerMessageId),
      interrupted: r.interrupted ?? null,
    })),
  );
  await runPrepared(db, "herald_write_outcomes", WRITE_OUTCOMES_SQL, [input]);
}

const WRITE_OUTCOMES_SQL = `
  with input as (
    select * from jsonb_to_recordset($1::jsonb) as x(
      id uuid, attempt int, provider text, outcome text, latency_ms int, status text, error text, provider_message_id text, interrupted int)
  ), attempts as (
    insert into delivery_attempts (notification_id, attempt, provider, outcome, latency_ms, error, provider_message_id)
    select id, attempt, provider, outcome, latency_ms, error, provider_message_id from input
    union all
    select id, interrupted, provider, 'interrupted', 0, 'the processor stopped before this attempt finished', null from input where interrupted is not null
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

/** A notification that must end `failed` outside a send: Postgres refused it, or it stopped making progress. */
export interface Failure {
  envelope: Envelope;
  error: string;
}

/**
 * Ends the rows `failed` with their reason, in one statement. A row that does
 * not exist (Postgres refused to store it) is inserted without its payload and
 * with every text made storable, so the id a client was given still answers
 * with what happened; its idempotency key is left out, as it may be what
 * collided. A row already terminal stays as it is.
 */
export async function markFailed(db: Database, failures: Failure[]): Promise<void> {
  if (failures.length === 0) return;
  const text = (s: string | null) => (s === null ? null : toStorableText(s));
  const input = JSON.stringify(
    failures.map(({ envelope: e, error }) => ({
      id: e.id,
      tenant_id: text(e.tenantId),
      user_id: text(e.userId),
      channel: e.channel,
      type: e.type,
      priority: e.priority,
      correlation_id: text(e.correlationId),
      created_at: storableTime(e.acceptedAt),
      last_error: text(error),
    })),
  );
  await runPrepared(db, "herald_mark_failed", MARK_FAILED_SQL, [input, TERMINAL]);
}

/** An envelope's timestamp as Postgres takes it, or now when it is out of Postgres's range. */
function storableTime(iso: string): string {
  const ms = Date.parse(iso);
  return ms >= Date.UTC(1970, 0, 1) && ms < Date.UTC(10000, 0, 1) ? new Date(ms).toISOString() : new Date().toISOString();
}

const MARK_FAILED_SQL = `
  insert into notifications (id, tenant_id, user_id, channel, type, priority, status, payload, correlation_id,
    last_error, created_at, updated_at)
  select id, tenant_id, user_id, channel, type, priority, 'failed', '{}'::jsonb, correlation_id,
    last_error, created_at, now()
  from jsonb_to_recordset($1::jsonb) as x(
    id uuid, tenant_id text, user_id text, channel text, type text, priority text, correlation_id text,
    last_error text, created_at timestamptz)
  on conflict (id) do update set status = 'failed', last_error = excluded.last_error, updated_at = now()
  where notifications.status not in (select jsonb_array_elements_text($2::jsonb))`;
