import { describe, expect, test } from "bun:test";
import { lifecycleEvent } from "../../schemas/events.ts";
import { deliveriesFor, type Subscriber } from "./fan-out.ts";

const N = { id: "0190a0a0-0000-7000-8000-000000000001", tenantId: "acme", userId: "u-1", channel: "email" as const };
const sent = lifecycleEvent("sent", N, { attempt: 1 });
const failed = lifecycleEvent("failed", N, { attempt: 3, error: "bounced" });

const endpoint = (id: string, tenantId: string, eventTypes: string[]): Subscriber => ({ id, tenantId, eventTypes });

describe("deliveriesFor", () => {
  test("gives each event to every endpoint of its tenant subscribed to its type or to *", () => {
    const rows = deliveriesFor([sent, failed], [endpoint("all", "acme", ["*"]), endpoint("failures", "acme", ["failed", "bounced"])]);
    expect(rows.map((r) => `${r.endpointId}:${r.eventType}`)).toEqual(["all:sent", "all:failed", "failures:failed"]);
  });

  test("never gives an event to another tenant's endpoint", () => {
    expect(deliveriesFor([sent], [endpoint("theirs", "beta", ["*"])])).toEqual([]);
  });

  test("keys each delivery by the event's id, so a copy of the event is the same delivery", () => {
    const [a] = deliveriesFor([sent], [endpoint("all", "acme", ["*"])]);
    const [b] = deliveriesFor([{ ...sent }], [endpoint("all", "acme", ["*"])]);
    expect(a?.eventId).toBe(sent.eventId);
    expect(b?.eventId).toBe(a?.eventId);
    expect(a?.userId).toBe("u-1");
  });
});
