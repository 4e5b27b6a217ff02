import { z } from "zod";

/** Operational events: about Herald's own configuration objects, not a notification. */
export const OPS_EVENT_TYPES = ["endpoint_disabled"] as const;
export type OpsEventType = (typeof OPS_EVENT_TYPES)[number];

/**
 * A status-webhook endpoint was disabled after its deliveries failed without
 * a success for the configured time. Published on `<ns>.v1.ops.endpoint_disabled`
 * in the events stream; `eventId` is its `Nats-Msg-Id`. A public contract,
 * exported as JSON Schema (schemas/json/).
 */
export const EndpointDisabledEvent = z
  .object({
    v: z.literal(1),
    type: z.literal("endpoint_disabled"),
    eventId: z.string().describe("unique per disable; copies of one carry the same id"),
    tenantId: z.string(),
    endpointId: z.uuid(),
    url: z.string(),
    at: z.iso.datetime({ offset: true }).describe("when the endpoint was disabled"),
    failingSince: z.iso.datetime({ offset: true }).describe("when the run of failed attempts began"),
    reason: z.string(),
  })
  .meta({ title: "Herald operational event: endpoint_disabled" });
export type EndpointDisabledEvent = z.infer<typeof EndpointDisabledEvent>;
