import { z } from "zod";
import { EVENT_TYPES, type EventType } from "./enums.ts";

/** A delivery waits (`pending`, also between retries), arrived (`delivered`), or gave up (`failed`: the endpoint's dead list). */
export const DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Seconds before each attempt, the first counted from the event: Svix's schedule (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). */
export const DEFAULT_RETRY_SCHEDULE_S: readonly number[] = [0, 5, 300, 1800, 7200, 18_000, 36_000, 36_000];

/** How long an endpoint's deliveries may fail without a success before it is disabled: 5 days. */
export const DEFAULT_DISABLE_AFTER_H = 120;

/** How long a rotated-out endpoint secret keeps signing by default. */
export const DEFAULT_ENDPOINT_SECRET_GRACE_SECONDS = 24 * 60 * 60;
export const MAX_ENDPOINT_SECRET_GRACE_SECONDS = 7 * 24 * 60 * 60;

/** Endpoints a tenant may have: each one costs a row per event and a POST. */
export const MAX_ENDPOINTS_PER_TENANT = 50;

/** What an endpoint subscribes to: every type, or the ones listed. */
export const EndpointEventTypes = z.union([
  z.tuple([z.literal("*")]),
  z
    .array(z.enum(EVENT_TYPES))
    .min(1)
    .refine((list) => new Set(list).size === list.length, "must not repeat a type"),
]);
export type EndpointEventTypes = z.infer<typeof EndpointEventTypes>;

/** Whether an endpoint subscribed to `types` gets an event of `type`. */
export function subscribes(types: readonly string[], type: EventType): boolean {
  return types.includes("*") || types.includes(type);
}

const endpointUrl = z
  .url({ protocol: /^https?$/, hostname: z.regexes.hostname })
  .max(2048)
  .describe("Where events are POSTed: https (http only where private addresses are allowed)");

/** `POST /v1/webhook-endpoints`. */
export const CreateWebhookEndpointBody = z.strictObject({
  url: endpointUrl,
  description: z.string().max(500).optional(),
  eventTypes: EndpointEventTypes.default(["*"]).describe('`["*"]` (every type, the default) or the event types to send'),
  enabled: z.boolean().default(true),
});
export type CreateWebhookEndpointBody = z.infer<typeof CreateWebhookEndpointBody>;

/** `PATCH /v1/webhook-endpoints/:id`: what is given changes; `enabled: true` also clears a disable. */
export const UpdateWebhookEndpointBody = z.strictObject({
  url: endpointUrl.optional(),
  description: z.string().max(500).nullable().optional(),
  eventTypes: EndpointEventTypes.optional(),
  enabled: z.boolean().optional(),
});
export type UpdateWebhookEndpointBody = z.infer<typeof UpdateWebhookEndpointBody>;

/** `POST /v1/webhook-endpoints/:id/secret/rotate`; none is `{}`. */
export const RotateEndpointSecretBody = z.strictObject({
  graceSeconds: z.number().int().min(0).max(MAX_ENDPOINT_SECRET_GRACE_SECONDS).optional(),
});

/** `POST /v1/webhook-endpoints/:id/replay`: re-queue the failed deliveries created in [since, until). */
export const ReplayDeliveriesBody = z.strictObject({
  since: z.iso.datetime({ offset: true }),
  until: z.iso.datetime({ offset: true }).optional(),
});

/** The query of `GET /v1/webhook-endpoints/:id/deliveries`. */
export const DeliveryListQuery = z.strictObject({
  status: z.enum(DELIVERY_STATUSES).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

/** An endpoint as the API shows it (never its secret: that has its own route). */
export interface WebhookEndpointView {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  enabled: boolean;
  disabledAt: string | null;
  disabledReason: string | null;
  failingSince: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A delivery as the API shows it. */
export interface WebhookDeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** One attempt of a delivery. */
export interface WebhookDeliveryAttemptView {
  attempt: number;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
  at: string;
}
