import type { NewDelivery } from "../../lib/db/webhook-deliveries.ts";
import type { LifecycleEvent } from "../../schemas/events.ts";
import { subscribes } from "../../schemas/status-webhooks.ts";

/** An enabled endpoint as matching needs it. */
export interface Subscriber {
  id: string;
  tenantId: string;
  eventTypes: readonly string[];
}

/** One delivery per event and endpoint of the event's tenant subscribed to its type. */
export function deliveriesFor(events: readonly LifecycleEvent[], endpoints: readonly Subscriber[]): NewDelivery[] {
  const byTenant = new Map<string, Subscriber[]>();
  for (const e of endpoints) byTenant.set(e.tenantId, [...(byTenant.get(e.tenantId) ?? []), e]);
  const out: NewDelivery[] = [];
  for (const ev of events) {
    for (const e of byTenant.get(ev.tenantId) ?? []) {
      if (!subscribes(e.eventTypes, ev.type)) continue;
      out.push({ endpointId: e.id, tenantId: ev.tenantId, userId: ev.userId, eventId: ev.eventId, eventType: ev.type, event: ev });
    }
  }
  return out;
}
