import type { Envelope } from "../schemas/envelope.ts";
import type { NotificationRequest } from "../schemas/request.ts";
import { uuidv7 } from "./ids.ts";
import type { AcceptedView } from "../schemas/views.ts";

/** The 202 body of one accepted notification. */
export interface AcceptedBody {
  id: string;
  status: "accepted" | "scheduled";
  acceptedAt: string;
}

/** Everything derived from one valid request before it is published. */
export interface Acceptance {
  envelope: Envelope;
  msgId: string;
  view: AcceptedView;
  body: AcceptedBody;
}

export interface AcceptContext {
  tenant: string;
  /** The key stored with the row: the header's, or `batchItemKey` for a batch item. */
  idempotencyKey: string | null;
  /** The id the key names (`idForKey`); a fresh UUIDv7 when there is no key. */
  id?: string;
  /** SHA-256 of the keyed request's body; none without a key. */
  requestHash?: string;
  correlationId: string;
  now: Date;
  /** `now` as ISO text when the caller has it already: a batch formats it once for all its items. */
  acceptedAt?: string;
}

/**
 * The key a keyed batch's item is stored and deduplicated under. A space
 * cannot occur in a caller's Idempotency-Key, so no item key can equal a
 * single request's key.
 */
export function batchItemKey(key: string, index: number): string {
  return `${key} ${index}`;
}

/**
 * `Nats-Msg-Id`: `<tenant>:<key>:<body hash>` for a keyed request, so JetStream
 * drops a retry of the same request but lets the same key with another body
 * through to the processor, which reports the conflict; `<tenant>:<id>` otherwise.
 */
export function msgIdFor(tenant: string, idempotencyKey: string | null, id: string, requestHash?: string): string {
  if (idempotencyKey === null) return `${tenant}:${id}`;
  return requestHash === undefined ? `${tenant}:${idempotencyKey}` : `${tenant}:${idempotencyKey}:${requestHash.slice(0, 32)}`;
}

/** What an envelope is built from: a validated request, or one notification of a send by template. */
export type AcceptRequest = Pick<NotificationRequest, "userId" | "channel" | "type" | "priority" | "scheduledFor" | "metadata"> & {
  payload: Record<string, unknown>;
};

/** Builds the envelope, the dedupe id, the read-your-writes view and the 202 body of one request. */
export function accept(req: AcceptRequest, ctx: AcceptContext): Acceptance {
  const id = ctx.id ?? uuidv7(ctx.now.getTime());
  const acceptedAt = ctx.acceptedAt ?? ctx.now.toISOString();
  // Normalised to UTC so every consumer compares the same string form.
  const scheduledFor = req.scheduledFor === undefined ? null : new Date(req.scheduledFor).toISOString();
  const status = scheduledFor !== null && Date.parse(scheduledFor) > ctx.now.getTime() ? "scheduled" : "accepted";
  const envelope: Envelope = {
    v: 1,
    id,
    tenantId: ctx.tenant,
    userId: req.userId,
    channel: req.channel,
    type: req.type,
    priority: req.priority,
    payload: req.payload,
    metadata: req.metadata ?? null,
    idempotencyKey: ctx.idempotencyKey,
    // Left undefined without a key: JSON leaves it out, and every envelope keeps one shape.
    requestHash: ctx.requestHash,
    correlationId: ctx.correlationId,
    scheduledFor,
    acceptedAt,
  };
  const view: AcceptedView = {
    id,
    userId: req.userId,
    channel: req.channel,
    type: req.type,
    priority: req.priority,
    status,
    createdAt: acceptedAt,
    scheduledFor,
    metadata: envelope.metadata,
    correlationId: ctx.correlationId,
  };
  return { envelope, msgId: msgIdFor(ctx.tenant, ctx.idempotencyKey, id, ctx.requestHash), view, body: { id, status, acceptedAt } };
}
