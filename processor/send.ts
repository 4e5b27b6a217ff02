import { holding, isolating, refusalReason } from "../lib/db/durable.ts";
import { beginAttempts, writeOutcomes, type OutcomeRecord } from "../lib/db/notification-repository.ts";
import { recordSuppressions, suppressionAddress } from "../lib/db/suppressions.ts";
import { timeQuery } from "../lib/telemetry/recorder.ts";
import { publishEvents } from "../lib/nats/event-publisher.ts";
import { inSpan, SpanKind, SPANS } from "../lib/telemetry/spans.ts";
import { lifecycleEvent, type LifecycleEvent } from "../schemas/events.ts";
import { classifyError, type SendOutcome } from "./channels/errors.ts";
import type { OutboundNotification, Sender } from "./channels/types.ts";
import { noteLog, type Item, type LaneContext } from "./context.ts";
import { deadLetter, failAll } from "./failures.ts";
import { attemptOutcome, decide, unreachable, type Decision } from "./outcome.ts";
import type { Settlement } from "./settlement.ts";
import { isBrokenCircuit, TRIAL_WAIT_MS, type Pick } from "./failover.ts";
import { deferAttempts } from "../lib/db/schedules.ts";
import { heldStep, persist, secondsSince, sinceAccepted } from "./lane-telemetry.ts";
import { logInfo } from "../lib/telemetry/log-lines.ts";
import { publishInboxItems } from "./inbox-feed.ts";

/** A message that is due now, with the number of the attempt about to be made. */
export interface DueItem extends Item {
  /** Its row's `RowState.createdAt`. */
  createdAt: string;
  attempt: number;
  /** Its row was inserted `processing` with this attempt begun by this batch's claim. */
  claimed: boolean;
  /** An earlier attempt the processor began and never finished, to record as `interrupted`. */
  interrupted: number | null;
  /** The provider the batch picked for it (processor/failover.ts). */
  pick: SendPick;
}

/** A pick that sends: a provider, or none that takes the address (a failure the message causes). */
export type SendPick = Exclude<Pick, { kind: "wait" }>;

interface Result {
  item: DueItem;
  provider: string;
  outcome: SendOutcome;
  latencyMs: number;
  decision: Decision;
}

/**
 * Sends the due messages of a batch: mark processing → send (bounded per
 * channel) → one statement for all outcomes → dead letters and events (after
 * `earlierEvents`, so a subscriber sees them in order) → ack / nak / term.
 * Nothing is settled before the outcome is committed.
 */
export async function sendDue(ctx: LaneContext, due: DueItem[], s: Settlement, stamp: string, earlierEvents: Promise<void> = Promise.resolve()): Promise<void> {
  // Not awaited: only the sends that need what is being read wait for it (prepare never rejects).
  void prepareProviders(due);
  const items = await takeForSending(ctx, due, s, stamp);
  if (items.length === 0) return;
  const done = await Promise.all(items.map((item) => sendOne(ctx, item)));
  const sent = done.filter((r): r is Result => "decision" in r);
  await Promise.all([
    deferAll(
      ctx,
      done.filter((r): r is Deferred => "untilMs" in r),
      s,
    ),
    settleSent(ctx, sent, s, earlierEvents),
  ]);
}

/** Lets each picked provider read at once what its sends of the batch need (processor/channels/types.ts `prepare`). */
async function prepareProviders(due: readonly DueItem[]): Promise<void> {
  const bySender = new Map<Sender, OutboundNotification[]>();
  for (const item of due) {
    const sender = item.pick.kind === "send" ? item.pick.route.sender : undefined;
    if (sender?.prepare === undefined) continue;
    const batch = bySender.get(sender);
    if (batch === undefined) bySender.set(sender, [outbound(item)]);
    else batch.push(outbound(item));
  }
  // A prepare that broke its promise not to reject costs nothing here: the sends read what they lack.
  await Promise.all([...bySender].map(([sender, batch]) => sender.prepare?.(batch).catch(() => undefined)));
}

/** Writes the outcomes of the calls made, then dead letters and events, then settles. */
async function settleSent(ctx: LaneContext, sent: Result[], s: Settlement, earlierEvents: Promise<void>): Promise<void> {
  if (sent.length === 0) return;
  // Held while Postgres is away: a send that happened must not be redelivered and made again.
  const { refused } = await isolating(sent, (part) =>
    holding(
      "write_outcomes",
      () =>
        persist(
          ctx,
          "write_outcomes",
          part.map((r) => r.item),
          () => writeOutcomes(ctx.sql, part.map(toRecord)),
        ),
      ctx.hold,
    ),
  );
  const results = sent.filter((r) => !refused.some((x) => x.item === r));
  await suppressUnreachable(ctx, results);
  await failAll(
    ctx,
    refused.map(({ item: r, error }) => ({ ...r.item, error: refusalReason(error), attempts: r.item.attempt })),
    "unstorable",
    s,
  );
  for (const r of results) recordOutcome(ctx, r);
  const [delivered] = await Promise.all([
    Promise.all(results.map((r) => deadLetterIfFailed(ctx, r))),
    earlierEvents.then(() => publishEvents(ctx.publisher, ctx.topo, results.map(toEvent), ctx.log, ctx.metrics)),
  ]);
  publishInboxItems(ctx, results);
  results.forEach((r, i) => {
    // A dead letter that did not reach the DLQ must not be termed: nak it, and
    // the redelivery (row already `failed`) publishes the dead letter again.
    s.apply(r.item.msg, delivered[i] ? r.decision : { action: "nak", status: "retrying", delayMs: 1000, error: "dead letter not published" });
  });
}

async function sendOne(ctx: LaneContext, item: DueItem): Promise<Result | Deferred> {
  const { envelope: e, attempt } = item;
  return ctx.limiters[e.channel].run(ctx.priority, async () => {
    const started = performance.now();
    const called = await callProvider(ctx, item, item.pick);
    if ("untilMs" in called) return { item, untilMs: called.untilMs };
    const { provider, outcome } = called;
    const latencyMs = Math.round(performance.now() - started);
    // A replayed notification's budget counts from its replay (processor/dead-letter-admin.ts).
    const decision = decide(outcome, attempt, ctx.retries[e.channel], undefined, e.attemptBase ?? 0);
    // A child logger per message costs more than the send to the sink: build it only to write.
    if (decision.action !== "ack") noteLog(ctx, e).warn({ attempt, latencyMs, provider, error: decision.error, next: decision.action }, "send failed");
    return { item, provider, outcome, latencyMs, decision };
  });
}

/** A call to a provider, or none: every provider's breaker opened after the pick, so the attempt waits until untilMs. */
type Called = { provider: string; outcome: SendOutcome } | { untilMs: number };

/**
 * One call to the provider the batch picked. A breaker that opened between
 * the pick and the call refuses it without calling the provider: the channel's
 * next provider gets one chance, else no call is made and the attempt is
 * handed back (deferAll).
 */
async function callProvider(ctx: LaneContext, item: DueItem, pick: SendPick, again = true): Promise<Called> {
  if (pick.kind === "none") return { provider: "none", outcome: { kind: "permanent", error: pick.error } };
  const { route } = pick;
  const provider = route.sender.provider;
  const started = performance.now();
  const send = () => route.call(outbound(item), { attempt: item.attempt, signal: ctx.signal });
  try {
    const res = ctx.tracer && item.trace ? await inSpan(ctx.tracer, SPANS.provider, providerSpan(item, provider), send) : await send();
    const outcome: SendOutcome = { kind: "sent", ...res };
    ctx.metrics.providerRequest(provider, item.envelope.channel, "sent", secondsSince(started));
    return { provider, outcome };
  } catch (err) {
    if (isBrokenCircuit(err)) return afterBrokenCircuit(ctx, item, again);
    const outcome = classifyError(err);
    ctx.metrics.providerRequest(provider, item.envelope.channel, attemptOutcome(outcome), secondsSince(started));
    return { provider, outcome };
  }
}

async function afterBrokenCircuit(ctx: LaneContext, item: DueItem, again: boolean): Promise<Called> {
  const next = again ? ctx.routes.pick(outbound(item)) : undefined;
  if (next?.kind === "send") {
    try {
      return await callProvider(ctx, item, next, false);
    } finally {
      ctx.routes.settle(next);
    }
  }
  return { untilMs: next?.kind === "wait" ? next.untilMs : Date.now() + TRIAL_WAIT_MS };
}

/** A due message no provider was called for. */
interface Deferred {
  item: DueItem;
  untilMs: number;
}

/**
 * Hands back the attempts begun for messages no provider was called for, and
 * parks them in the scheduler until a breaker lets a trial through; then acks
 * them. No attempt is burnt and nothing is published: the notification's
 * status goes back to what it was before the batch began it.
 */
async function deferAll(ctx: LaneContext, deferred: Deferred[], s: Settlement): Promise<void> {
  if (deferred.length === 0) return;
  const entries = deferred.map((d) => ({
    id: d.item.envelope.id,
    createdAt: d.item.createdAt,
    attempt: d.item.attempt,
    dueAt: new Date(d.untilMs).toISOString(),
  }));
  await heldStep(
    ctx,
    "schedule",
    deferred.map((d) => d.item),
    () => deferAttempts(ctx.db, entries),
  );
  for (const d of deferred) {
    ctx.metrics.providerWait(d.item.envelope.channel);
    s.ack(d.item.msg);
  }
}

/**
 * The items this batch may send: those its claim inserted with the attempt
 * begun, and those whose attempt `beginAttempts` begins now. One cancelled
 * since it was read, or begun by another consumer meanwhile, is acked and
 * never sent by this batch.
 */
async function takeForSending(ctx: LaneContext, due: DueItem[], s: Settlement, stamp: string): Promise<DueItem[]> {
  const unclaimed = due.filter((i) => !i.claimed);
  if (unclaimed.length === 0) return due;
  const starts = unclaimed.map((i) => ({ id: i.envelope.id, createdAt: i.createdAt, attempt: i.attempt }));
  const marked = await heldStep(ctx, "begin_attempts", unclaimed, () => beginAttempts(ctx.sql, starts, stamp));
  const sendable: DueItem[] = [];
  for (const item of due) {
    if (item.claimed || marked.has(item.envelope.id)) sendable.push(item);
    else s.ack(item.msg);
  }
  return sendable;
}

function providerSpan(item: DueItem, provider: string) {
  const attributes = { "herald.provider": provider, "herald.channel": item.envelope.channel, "herald.attempt": item.attempt };
  return { kind: SpanKind.CLIENT, parent: item.trace, attributes };
}

/**
 * Counts an outcome once its state is committed, and writes the info line
 * that carries the gateway's correlation id into the processor's logs (one
 * id through both processes); failures have their warn line already.
 */
function recordOutcome(ctx: LaneContext, r: Result): void {
  const e = r.item.envelope;
  switch (r.decision.action) {
    case "ack":
      ctx.metrics.sent(e.channel, ctx.priority, r.provider);
      ctx.metrics.endToEnd(e.channel, ctx.priority, sinceAccepted(e.acceptedAt));
      logInfo(
        ctx.log,
        { correlationId: e.correlationId, notificationId: e.id, tenantId: e.tenantId, channel: e.channel, lane: ctx.priority },
        "notification sent",
        {
          attempt: r.item.attempt,
          provider: r.provider,
          latencyMs: r.latencyMs,
        },
      );
      return;
    case "term":
      if (r.decision.status === "bounced") ctx.metrics.undelivered(e.channel, ctx.priority, "bounced");
      else ctx.metrics.failed(e.channel, ctx.priority, r.outcome.kind === "permanent" ? "permanent_error" : "attempts_exhausted");
      return;
    case "nak":
      return;
    default:
      unreachable(r.decision);
  }
}

/** What a sender gets of a message. */
export function outbound({ envelope: e, payload }: Item): OutboundNotification {
  return {
    id: e.id,
    tenantId: e.tenantId,
    userId: e.userId,
    channel: e.channel,
    type: e.type,
    payload: payload ?? e.payload,
    metadata: e.metadata,
    correlationId: e.correlationId,
  };
}

function toRecord(r: Result): OutcomeRecord {
  return {
    id: r.item.envelope.id,
    createdAt: r.item.createdAt,
    attempt: r.item.attempt,
    provider: r.provider,
    outcome: attemptOutcome(r.outcome),
    latencyMs: r.latencyMs,
    status: r.decision.status,
    error: r.decision.action === "ack" ? null : r.decision.error,
    providerMessageId: r.outcome.kind === "sent" ? (r.outcome.providerMessageId ?? null) : null,
    payload: r.decision.action === "ack" && r.item.payload !== undefined ? r.item.payload : null,
    interrupted: r.item.interrupted,
  };
}

function toEvent(r: Result): LifecycleEvent {
  const { item, decision, provider, outcome } = r;
  const by = outcome.kind === "sent" && outcome.providerMessageId !== undefined ? { provider, providerMessageId: outcome.providerMessageId } : { provider };
  if (decision.action === "ack") return lifecycleEvent("sent", item.envelope, { attempt: item.attempt, ...by });
  return lifecycleEvent(decision.status, item.envelope, { attempt: item.attempt, error: decision.error, ...by });
}

/**
 * Remembers, per tenant, the addresses a provider said can never receive (an
 * unregistered device token), so the next send to one is suppressed. Its
 * notification already ends `bounced`: a suppression that cannot be stored is
 * logged, and the next send to the address learns it again from the provider.
 */
async function suppressUnreachable(ctx: LaneContext, results: Result[]): Promise<void> {
  const entries = results.flatMap((r) => {
    const e = r.item.envelope;
    const address = r.decision.status === "bounced" ? suppressionAddress(e.channel, e.payload) : null;
    if (address === null || r.decision.action !== "term") return [];
    return [{ tenantId: e.tenantId, channel: e.channel, address, reason: r.decision.error, source: "unregistered" as const, notificationId: e.id }];
  });
  if (entries.length === 0) return;
  try {
    await timeQuery(ctx.metrics, "record_suppressions", () => recordSuppressions(ctx.sql, entries));
  } catch (err) {
    ctx.log.error(
      { err, lane: ctx.priority, count: entries.length },
      "could not record the unreachable addresses; their next sends will ask the provider again",
    );
  }
}

/** True when there was nothing to dead-letter or the DLQ acknowledged it. */
async function deadLetterIfFailed(ctx: LaneContext, r: Result): Promise<boolean> {
  if (r.decision.action !== "term" || r.decision.status !== "failed") return true;
  return deadLetter(ctx, r.item, r.decision.error, r.item.attempt);
}
