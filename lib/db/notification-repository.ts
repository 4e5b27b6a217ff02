import { and, eq, inArray, isNotNull, isNull, sql, type SQL } from "drizzle-orm";
import type { Database, Sql, SqlRow as Row } from "../../schemas/database.ts";
import type { DeliveryReport, MovedNotification } from "../../schemas/delivery-reports.ts";
import { initialStatus, type Envelope } from "../../schemas/envelope.ts";
import { CANCELLABLE_STATUSES, STATUSES, TERMINAL_STATUSES, type AttemptOutcome, type Status } from "../../schemas/enums.ts";
import { deliveryAttempts, notificationIds, notifications, type NewNotificationRow } from "../../schemas/tables.ts";
import { toStorableText } from "../../schemas/storable.ts";
import { inboxColumns, viewColumns } from "./reads.ts";

// The one writer of `notifications`, `delivery_attempts` and `notification_ids`:
// every status change is a function here, with its lock rule beside it.
//
// Both big tables are partitioned by the notification's created_at
// (lib/db/partitions.ts), so a row's key is (id, created_at). The processor
// carries each row's created_at from its claim (`RowState.createdAt`, exact to
// the microsecond) into every later write, so those touch one partition; the
// API's lookups by id alone probe every partition's primary-key index.
//
// The processor's writes, batched:
// one statement per step, whatever the batch size. Each statement takes the
// whole batch as one jsonb parameter and unpacks it with jsonb_to_recordset,
// so its text never changes and is prepared once per connection, and building
// it costs nothing (the query builder spent more CPU assembling long VALUES
// lists than Postgres spent running them).

/** A row's state as the processor plans by it. */
export interface RowState {
  status: Status;
  /** Attempts begun so far (counted before each send). */
  attempts: number;
  lastError: string | null;
  /** The body hash of the keyed request that created the row; null without a key. */
  requestHash: string | null;
  /** The row's created_at, exact (ISO 8601 with microseconds): the other half of its key, for every later write. */
  createdAt: string;
  /** When the row last changed (ISO 8601): the time of its current status, for an event published again. */
  updatedAt: string;
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
    createdAt: String(r.created_at_exact),
    updatedAt: String(r.updated_at_exact),
  };
}

/** A timestamp as exact text, so it names its row again when handed back: drivers turn timestamps into millisecond Dates. */
const exact = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** What every read of a row's state returns. */
const STATE_COLUMNS = `id, status, attempts, last_error, request_hash, ${exact("created_at")} as created_at_exact, ${exact("updated_at")} as updated_at_exact`;

const CLAIM_SQL = `
  with x as (
    select * from jsonb_to_recordset($1::jsonb) as x(
      id uuid, tenant_id text, user_id text, channel text, type text, priority text, status text, attempts int,
      payload jsonb, metadata jsonb, idempotency_key text, request_hash text, correlation_id text,
      scheduled_for timestamptz, created_at timestamptz)
  ), registered as (
    insert into notification_ids (id, tenant_id, idempotency_key, created_at)
    select id, tenant_id, idempotency_key, created_at from x where idempotency_key is not null
    on conflict (id) do nothing
    returning id
  )
  insert into notifications (id, tenant_id, user_id, channel, type, priority, status, payload, metadata,
    idempotency_key, request_hash, correlation_id, attempts, scheduled_for, created_at, updated_at)
  select id, tenant_id, user_id, channel, type, priority, status, payload, metadata,
    idempotency_key, request_hash, correlation_id, attempts, scheduled_for, created_at, $2::timestamptz
  from x where idempotency_key is null or id in (select id from registered)
  on conflict (id, created_at) do nothing
  returning ${STATE_COLUMNS}`;

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
 * One row per id, across partitions. The primary key is (id, created_at), so
 * it stops a second row only when the second message carries the same
 * created_at. An unkeyed id does: the gateway mints it (UUIDv7) for one
 * request, and every message and row that carries it carries that request's
 * acceptedAt (a release or a replay copies the row's, exactly). A keyed id
 * does not: it is derived from (tenant, key), so a retry that the
 * idempotency store and the stream's duplicate window both forgot names it
 * again with a new acceptedAt, perhaps in another month. Keyed rows are
 * therefore registered in `notification_ids` (primary key id) in the same
 * statement, and inserted only if this statement registered them. Races: of
 * two claims of one keyed id at once, the second's registration waits on the
 * first's uncommitted entry and, once it commits, does nothing, so the second
 * inserts no row and reads the first's; no advisory lock, no partition probes.
 *
 * A new row that is due goes in as `processing` with its first attempt begun,
 * not `accepted`: the batch that inserts it sends it next, and an `accepted`
 * row that the same batch then marks `processing` costs Postgres a second
 * version of the row in every index (status is indexed, so the update is
 * never HOT). The `accepted` event still goes out for it.
 */
export async function claim(
  db: Sql,
  envelopes: Envelope[],
  nowMs: number,
  stamp: string = batchStamp(nowMs),
  /** Ids not sent now (waiting for a provider or quiet hours, opted out, unresolvable): a new row goes in with this status, no attempt begun. */
  held: ReadonlyMap<string, "accepted" | "scheduled"> = new Map(),
): Promise<Claimed> {
  const begins = (e: Envelope) => initialStatus(e, nowMs) !== "scheduled" && !held.has(e.id);
  const input = JSON.stringify(
    envelopes.map((e) => ({
      id: e.id,
      tenant_id: e.tenantId,
      user_id: e.userId,
      channel: e.channel,
      type: e.type,
      priority: e.priority,
      status: begins(e) ? "processing" : initialStatus(e, nowMs) === "scheduled" ? "scheduled" : (held.get(e.id) ?? "accepted"),
      attempts: begins(e) ? 1 : 0,
      payload: e.payload,
      metadata: e.metadata,
      idempotency_key: e.idempotencyKey,
      request_hash: e.requestHash ?? null,
      correlation_id: e.correlationId,
      scheduled_for: e.scheduledFor,
      created_at: e.acceptedAt,
    })),
  );
  const claimed: Claimed = { firstSeen: new Set(), rows: new Map() };
  for (const r of await db.run(CLAIM_SQL, [input, stamp])) {
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
    for (const r of await db.run(CLAIM_READ_SQL, [JSON.stringify(existing), stamp])) {
      const id = String(r.id);
      claimed.rows.set(id, toState(r));
      if (r.mine === true) claimed.firstSeen.add(id);
    }
  }
  return claimed;
}

const CLAIM_READ_SQL = `
  select ${STATE_COLUMNS}, updated_at = $2::timestamptz as mine from notifications
  where id in (select jsonb_array_elements_text($1::jsonb)::uuid)`;

/**
 * A batch's write stamp: its clock time with random microseconds, written as
 * `updated_at` by its claim and its attempt starts. A retried statement
 * (its first try committed but the answer was lost) recognises its own rows by it.
 */
export function batchStamp(nowMs: number): string {
  const micros = Math.floor(Math.random() * 1000)
    .toString()
    .padStart(3, "0");
  return new Date(nowMs).toISOString().replace("Z", `${micros}Z`);
}

/** The current state of the given rows, in one read. */
export async function readStates(db: Sql, ids: string[]): Promise<Map<string, RowState>> {
  const rows = await db.run(READ_STATES_SQL, [JSON.stringify(ids)]);
  return new Map(rows.map((r) => [String(r.id), toState(r)]));
}

const READ_STATES_SQL = `
  select ${STATE_COLUMNS} from notifications
  where id in (select jsonb_array_elements_text($1::jsonb)::uuid)`;

const TERMINAL = JSON.stringify(TERMINAL_STATUSES);

/** An attempt about to be made on a row read with `attempt - 1` attempts. */
export interface AttemptStart {
  id: string;
  /** The row's `RowState.createdAt`. */
  createdAt: string;
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
export async function beginAttempts(db: Sql, starts: AttemptStart[], stamp: string = batchStamp(Date.now())): Promise<Set<string>> {
  if (starts.length === 0) return new Set();
  const rows = await db.run(BEGIN_ATTEMPTS_SQL, [
    JSON.stringify(starts.map(({ id, createdAt, attempt }) => ({ id, created_at: createdAt, attempt }))),
    TERMINAL,
    stamp,
  ]);
  return new Set(rows.map((r) => String(r.id)));
}

// The second branch is this batch's own earlier try, committed with its answer lost.
const BEGIN_ATTEMPTS_SQL = `
  update notifications n set status = 'processing', attempts = x.attempt, updated_at = $3::timestamptz
  from jsonb_to_recordset($1::jsonb) as x(id uuid, created_at timestamptz, attempt int)
  where n.id = x.id and n.created_at = x.created_at
    and ((n.attempts = x.attempt - 1 and n.status not in (select jsonb_array_elements_text($2::jsonb)))
      or (n.attempts = x.attempt and n.status = 'processing' and n.updated_at = $3::timestamptz))
  returning n.id`;

export interface OutcomeRecord {
  id: string;
  /** The row's `RowState.createdAt`. */
  createdAt: string;
  attempt: number;
  provider: string;
  outcome: AttemptOutcome;
  latencyMs: number;
  status: "sent" | "retrying" | "failed" | "bounced";
  error: string | null;
  /** What the sender returned for a sent attempt; null otherwise. */
  providerMessageId: string | null;
  /** A send by template that was sent: the payload it rendered to, stored over the template reference so reads (the inbox) show what was sent. */
  payload?: Record<string, unknown> | null;
  /** An earlier attempt that began and never finished (the processor stopped during it), recorded with this one. */
  interrupted?: number | null;
}

/**
 * All outcomes of a batch in one statement, so one commit: the attempts insert
 * (its primary key makes a replayed write a no-op) runs as a data-modifying
 * CTE of the status update.
 */
export async function writeOutcomes(db: Sql, records: OutcomeRecord[]): Promise<void> {
  if (records.length === 0) return;
  const input = JSON.stringify(
    records.map((r) => ({
      id: r.id,
      created_at: r.createdAt,
      attempt: r.attempt,
      provider: r.provider,
      outcome: r.outcome,
      latency_ms: r.latencyMs,
      status: r.status,
      // Provider answers end up here: text Postgres refuses must not fail the batch.
      error: r.error === null ? null : toStorableText(r.error),
      provider_message_id: r.providerMessageId === null ? null : toStorableText(r.providerMessageId),
      interrupted: r.interrupted ?? null,
      payload: r.payload ?? null,
    })),
  );
  await db.run(WRITE_OUTCOMES_SQL, [input]);
}

const WRITE_OUTCOMES_SQL = `
  with input as (
    select * from jsonb_to_recordset($1::jsonb) as x(
      id uuid, created_at timestamptz, attempt int, provider text, outcome text, latency_ms int, status text, error text,
      provider_message_id text, interrupted int, payload jsonb)
  ), attempts as (
    insert into delivery_attempts (notification_id, notification_created_at, attempt, provider, outcome, latency_ms, error, provider_message_id)
    select id, created_at, attempt, provider, outcome, latency_ms, error, provider_message_id from input
    union all
    select id, created_at, interrupted, provider, 'interrupted', 0, 'the processor stopped before this attempt finished', null from input where interrupted is not null
    on conflict do nothing
  )
  update notifications n set
    status = input.status,
    attempts = input.attempt,
    -- a sent row keeps the error of the attempt before it, for the record
    last_error = coalesce(input.error, n.last_error),
    sent_at = case when input.status = 'sent' then now() else n.sent_at end,
    payload = coalesce(input.payload, n.payload),
    updated_at = now()
  from input
  where n.id = input.id and n.created_at = input.created_at`;

/** A notification that must end `failed` outside a send: Postgres refused it, or it stopped making progress. */
export interface Failure {
  envelope: Envelope;
  error: string;
}

/**
 * Ends the rows `failed` with their reason. A row that does not exist
 * (Postgres refused to store it) is inserted without its payload and with
 * every text made storable, so the id a client was given still answers with
 * what happened; its idempotency key is left out, as it may be what collided.
 * A row already terminal stays as it is.
 *
 * The inserted row's created_at may not be what a later message for the id
 * carries (an acceptedAt Postgres cannot store becomes now), so it is made
 * the way every row outside a claim is: registered in `notification_ids`
 * first, and inserted only if this statement registered the id and no row
 * has it. An id whose row was committed while this statement waited on its
 * registration is failed by a second update, which sees that row.
 */
export async function markFailed(db: Sql, failures: Failure[]): Promise<void> {
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
  const handled = new Set((await db.run(MARK_FAILED_SQL, [input, TERMINAL])).map((r) => String(r.id)));
  const rest = failures.filter((f) => !handled.has(f.envelope.id)).map((f) => ({ id: f.envelope.id, last_error: text(f.error) }));
  if (rest.length > 0) await db.run(FAIL_EXISTING_SQL, [JSON.stringify(rest), TERMINAL]);
}

/** An envelope's timestamp as Postgres takes it, or now when it is out of Postgres's range. */
function storableTime(iso: string): string {
  const ms = Date.parse(iso);
  return ms >= Date.UTC(1970, 0, 1) && ms < Date.UTC(10000, 0, 1) ? new Date(ms).toISOString() : new Date().toISOString();
}

const MARK_FAILED_SQL = `
  with x as (
    select * from jsonb_to_recordset($1::jsonb) as x(
      id uuid, tenant_id text, user_id text, channel text, type text, priority text, correlation_id text,
      last_error text, created_at timestamptz)
  ), registered as (
    insert into notification_ids (id, tenant_id, created_at) select id, tenant_id, created_at from x
    on conflict (id) do nothing
    returning id
  ), failed as (
    update notifications n set status = 'failed', last_error = x.last_error, updated_at = now()
    from x where n.id = x.id and n.status not in (select jsonb_array_elements_text($2::jsonb))
    returning n.id
  ), inserted as (
    insert into notifications (id, tenant_id, user_id, channel, type, priority, status, payload, correlation_id,
      last_error, created_at, updated_at)
    select id, tenant_id, user_id, channel, type, priority, 'failed', '{}'::jsonb, correlation_id, last_error, created_at, now()
    from x where id in (select id from registered) and not exists (select 1 from notifications n where n.id = x.id)
    on conflict (id, created_at) do nothing
    returning id
  )
  select id from failed union all select id from inserted`;

const FAIL_EXISTING_SQL = `
  update notifications n set status = 'failed', last_error = x.last_error, updated_at = now()
  from jsonb_to_recordset($1::jsonb) as x(id uuid, last_error text)
  where n.id = x.id and n.status not in (select jsonb_array_elements_text($2::jsonb))`;

// The writes of the gateway and of the operators' tools, through the query
// builder: they touch one row or one page at a time.

/** The database or a transaction on it. */
type Executor = Pick<Database, "execute" | "update" | "insert">;

const owned = (tenant: string, id: string) => and(eq(notifications.tenantId, tenant), eq(notifications.id, id));

/**
 * Cancels a row still in a cancellable status, in one statement. The row's
 * status is the lock: a row goes `processing` only from a cancellable status
 * (`beginAttempts`) and is cancelled only from one, so a notification is
 * either cancelled or sent, never both. Undefined when the row is not (or no
 * longer) cancellable, or does not exist.
 */
export async function cancelRow(db: Executor, tenant: string, id: string) {
  const [row] = await db
    .update(notifications)
    .set({ status: "cancelled", updatedAt: sql`now()` })
    .where(and(owned(tenant, id), inArray(notifications.status, [...CANCELLABLE_STATUSES])))
    .returning(viewColumns);
  return row;
}

/**
 * The row that stands for a notification cancelled before the processor
 * recorded it: when its message arrives, the processor's insert meets this
 * id, reads `cancelled` and acks without sending. The payload was never kept
 * outside the message, so the row has none. Undefined when the processor
 * recorded the row first.
 *
 * Made as `markFailed` makes its rows, in one transaction: the id registered
 * in `notification_ids`, then the row inserted only if this registered it and
 * no row has it. A keyed claim of the same id at once registers it too, so one
 * of the two waits for the other and finds it there.
 */
export async function insertCancelled(db: Pick<Database, "transaction">, row: Omit<NewNotificationRow, "status" | "payload"> & { createdAt: Date }) {
  return db.transaction(async (tx) => {
    const registered = await tx
      .insert(notificationIds)
      .values({ id: row.id, tenantId: row.tenantId, createdAt: row.createdAt })
      .onConflictDoNothing()
      .returning({ id: notificationIds.id });
    if (registered.length === 0) return undefined;
    const [existing] = await tx.select({ id: notifications.id }).from(notifications).where(eq(notifications.id, row.id)).limit(1);
    if (existing) return undefined;
    const [inserted] = await tx
      .insert(notifications)
      .values({ ...row, status: "cancelled", payload: {} })
      .onConflictDoNothing()
      .returning(viewColumns);
    return inserted;
  });
}

/** A user's delivered in-app notifications. */
export function deliveredInApp(tenant: string, userId: string): SQL | undefined {
  return and(eq(notifications.tenantId, tenant), eq(notifications.userId, userId), eq(notifications.channel, "in_app"), eq(notifications.status, "sent"));
}

/** Marks one delivered in-app notification read; the first read time stays. Undefined when there is no such notification. */
export async function markRead(db: Executor, tenant: string, id: string) {
  const [row] = await db
    .update(notifications)
    .set({ readAt: sql`coalesce(${notifications.readAt}, now())` })
    .where(and(owned(tenant, id), eq(notifications.channel, "in_app"), eq(notifications.status, "sent")))
    .returning(inboxColumns);
  return row;
}

/** Marks all of a user's delivered in-app notifications read; how many were unread. */
export async function markAllRead(db: Executor, tenant: string, userId: string): Promise<number> {
  const rows = await db
    .update(notifications)
    .set({ readAt: sql`now()` })
    .where(and(deliveredInApp(tenant, userId), isNull(notifications.readAt)))
    .returning({ id: notifications.id });
  return rows.length;
}

/** Failed rows handed back for a replay: `failed` → `retrying`, only from `failed`, so of two concurrent replays one takes each row. */
export async function takeForReplay(db: Executor, ids: string[]) {
  return db
    .update(notifications)
    .set({ status: "retrying", updatedAt: sql`now()` })
    .where(and(inArray(notifications.id, ids), eq(notifications.status, "failed")))
    .returning({
      id: notifications.id,
      tenantId: notifications.tenantId,
      userId: notifications.userId,
      channel: notifications.channel,
      attempts: notifications.attempts,
      createdAt: sql<string>`${sql.raw(exact(`"notifications"."created_at"`))}`,
    });
}

/** A row by its whole key: its id and its exact created_at (`RowState.createdAt`). */
export interface RowKey {
  id: string;
  createdAt: string;
}

/** Scheduled rows the scheduler released to their lanes: `scheduled` → `accepted`. */
export async function markReleased(db: Executor, rows: RowKey[]): Promise<void> {
  if (rows.length === 0) return;
  const keys = JSON.stringify(rows.map((r) => ({ id: r.id, created_at: r.createdAt })));
  await db.execute(sql`
    update notifications n set status = 'accepted', updated_at = now()
    from jsonb_to_recordset(${keys}::jsonb) as x(id uuid, created_at timestamptz)
    where n.id = x.id and n.created_at = x.created_at and n.status = 'scheduled'`);
}

// Provider delivery callbacks: what happened after a provider accepted a message.

/**
 * Moves the notifications the reports name forward, in one statement:
 * `sent → delivered` and `sent | delivered → bounced`. A report finds its
 * notification through the sent attempt that recorded the provider's message
 * id; one with no such attempt, or whose row is in any other status (already
 * bounced, failed, cancelled, still processing), changes nothing. A bounce
 * records the provider's reason in `last_error`, where the API already shows
 * why a delivery went wrong. Returns the rows it moved.
 *
 * The status is the lock: the update names the statuses it moves from, and
 * Postgres re-checks that on a row another transaction changed meanwhile, so
 * of a delivery and a bounce racing, the bounce ends it, and a delivery that
 * comes after a bounce changes nothing. The processor never writes a row once
 * it is `sent` (terminal), so nothing else races these moves. Of two reports
 * for one notification in the same call, the bounce is applied.
 */
export async function applyDeliveryReports(db: Sql, reports: DeliveryReport[]): Promise<MovedNotification[]> {
  if (reports.length === 0) return [];
  const input = JSON.stringify(
    reports.map((r) => ({
      provider: r.provider,
      provider_message_id: r.providerMessageId,
      status: r.status,
      reason: r.reason === null ? null : toStorableText(r.reason),
      at: r.at.toISOString(),
    })),
  );
  const rows = await db.run(APPLY_REPORTS_SQL, [input]);
  return rows.map((r) => ({
    id: String(r.id),
    tenantId: String(r.tenant_id),
    userId: String(r.user_id),
    channel: r.channel as MovedNotification["channel"],
    status: r.status === "bounced" ? "bounced" : "delivered",
    payload: (r.payload ?? {}) as Record<string, unknown>,
    correlationId: r.correlation_id == null ? null : String(r.correlation_id),
    metadata: (r.metadata ?? null) as Record<string, string> | null,
    reason: r.reason == null ? null : String(r.reason),
    at: r.at instanceof Date ? r.at : new Date(String(r.at)),
  }));
}

const APPLY_REPORTS_SQL = `
  with input as (
    select * from jsonb_to_recordset($1::jsonb) as x(provider text, provider_message_id text, status text, reason text, at timestamptz)
  ), matched as (
    select distinct on (a.notification_id) a.notification_id as id, a.notification_created_at as created_at, i.status, i.reason, i.at
    from input i
    join delivery_attempts a on a.provider = i.provider and a.provider_message_id = i.provider_message_id
    order by a.notification_id, i.status = 'bounced' desc
  )
  update notifications n set
    status = m.status,
    last_error = case when m.status = 'bounced' then coalesce(m.reason, n.last_error) else n.last_error end,
    updated_at = now()
  from matched m
  where n.id = m.id and n.created_at = m.created_at
    and ((m.status = 'delivered' and n.status = 'sent') or (m.status = 'bounced' and n.status in ('sent', 'delivered')))
  returning n.id, n.tenant_id, n.user_id, n.channel, n.status, n.payload, n.correlation_id, n.metadata, m.reason, m.at`;

/** A notification the processor will not send: its address is suppressed for its tenant. */
export interface SuppressedSend {
  id: string;
  /** The row's `RowState.createdAt`. */
  createdAt: string;
  reason: string;
  /** The batch's claim began an attempt for it (a new row): take it back, as none is made. */
  unbegin: boolean;
}

/**
 * Ends the rows `suppressed` with the reason, in one statement, without an
 * attempt. Lock rule: only a row that is not terminal moves, so a notification
 * sent or cancelled meanwhile keeps its status; returns the ids it moved.
 */
export async function markSuppressed(db: Sql, sends: SuppressedSend[]): Promise<Set<string>> {
  if (sends.length === 0) return new Set();
  const input = JSON.stringify(sends.map((s) => ({ id: s.id, created_at: s.createdAt, reason: toStorableText(s.reason), unbegin: s.unbegin })));
  const rows = await db.run(MARK_SUPPRESSED_SQL, [input, TERMINAL]);
  return new Set(rows.map((r) => String(r.id)));
}

const MARK_SUPPRESSED_SQL = `
  update notifications n set status = 'suppressed', last_error = x.reason, updated_at = now(),
    attempts = n.attempts - case when x.unbegin then 1 else 0 end
  from jsonb_to_recordset($1::jsonb) as x(id uuid, created_at timestamptz, reason text, unbegin boolean)
  where n.id = x.id and n.created_at = x.created_at and n.status not in (select jsonb_array_elements_text($2::jsonb))
  returning n.id`;

/**
 * Takes back attempts begun but never made (every provider's breaker opened
 * between the batch's pick and its call): each row goes back to the attempt
 * count it had, `accepted` if that is none, else `retrying`. Lock rule: only
 * a row still `processing` at exactly that attempt moves, so a row another
 * consumer has moved on is left alone. Returns the ids it moved.
 */
export async function unbeginAttempts(db: Executor, starts: AttemptStart[]): Promise<Set<string>> {
  if (starts.length === 0) return new Set();
  const rows = await db.execute(sql`
    update notifications n set attempts = n.attempts - 1,
      status = case when n.attempts = 1 then 'accepted' else 'retrying' end, updated_at = now()
    from jsonb_to_recordset(${JSON.stringify(starts.map((s) => ({ id: s.id, created_at: s.createdAt, attempt: s.attempt })))}::jsonb)
      as x(id uuid, created_at timestamptz, attempt int)
    where n.id = x.id and n.created_at = x.created_at and n.attempts = x.attempt and n.status = 'processing'
    returning n.id`);
  const list: unknown = rows;
  return new Set((Array.isArray(list) ? (list as Row[]) : []).map((r) => String(r.id)));
}

// A user's erasure (lib/db/erasure.ts runs these in its one transaction).

/** What a user's payloads addressed: each distinct channel and `to` of their email, SMS and push notifications. */
export async function addressedBy(db: Pick<Database, "selectDistinct">, tenant: string, userId: string) {
  return db
    .selectDistinct({ channel: notifications.channel, to: sql<string | null>`${notifications.payload}->>'to'` })
    .from(notifications)
    .where(and(eq(notifications.tenantId, tenant), eq(notifications.userId, userId), inArray(notifications.channel, ["email", "sms", "push"])));
}

/** The marker an erased notification's payload holds instead of what it was. */
export const ERASED_PAYLOAD = { erased: true } as const;

/**
 * Erases the personal data of a user's notifications, keeping ids, statuses,
 * times and counts: payload → `{"erased": true}`, metadata and last_error
 * cleared, the attempts' errors cleared. A row still waiting (a cancellable
 * status) is cancelled with last_error `erased`: the scheduler drops its
 * schedule at release, and a message still in a lane meets a cancelled row
 * and is acked unsent. Lock rule: the same as `cancelRow`'s, the status; a
 * row being sent right now keeps its status. A row already erased is not
 * counted again.
 */
export async function eraseUserNotifications(
  db: Executor,
  tenant: string,
  userId: string,
): Promise<{ notifications: number; attempts: number; cancelled: number }> {
  const mine = and(eq(notifications.tenantId, tenant), eq(notifications.userId, userId));
  const waiting = inArray(notifications.status, [...CANCELLABLE_STATUSES]);
  const cancelled = await db
    .update(notifications)
    .set({ status: "cancelled", lastError: "erased", updatedAt: sql`now()` })
    .where(and(mine, waiting))
    .returning({ id: notifications.id });
  const erased = await db
    .update(notifications)
    .set({
      payload: ERASED_PAYLOAD,
      metadata: null,
      lastError: sql`case when ${notifications.lastError} = 'erased' then 'erased' end`,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        mine,
        sql`(${notifications.payload} <> ${JSON.stringify(ERASED_PAYLOAD)}::jsonb or ${notifications.metadata} is not null
          or coalesce(${notifications.lastError}, 'erased') <> 'erased')`,
      ),
    )
    .returning({ id: notifications.id });
  const attempts = await db
    .update(deliveryAttempts)
    .set({ error: null })
    .where(
      and(isNotNull(deliveryAttempts.error), inArray(deliveryAttempts.notificationId, sql`(select ${notifications.id} from ${notifications} where ${mine})`)),
    )
    .returning({ id: deliveryAttempts.notificationId });
  return { notifications: erased.length, attempts: attempts.length, cancelled: cancelled.length };
}
