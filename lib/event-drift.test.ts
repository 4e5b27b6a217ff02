import { describe, expect, test } from "bun:test";
import type { EventType, Status } from "../schemas/enums.ts";
import { lifecycleEvent, type LifecycleEvent } from "../schemas/events.ts";
import { agrees, findDrift, foldEvent, repairEvent, type DriftRow, type Folded } from "./event-drift.ts";

const ID = "0190a8f0-0000-7000-8000-000000000001";
const T0 = "2026-12-07T10:00:00.000Z";
const T1 = "2026-12-07T10:00:01.000Z";
const T2 = "2026-12-07T10:00:02.000Z";

function row(status: Status, updatedAt = T1, over: Partial<DriftRow> = {}): DriftRow {
  return {
    id: ID,
    tenantId: "acme",
    userId: "u1",
    channel: "webhook",
    status,
    attempts: 2,
    lastError: "HTTP 503",
    correlationId: "c-1",
    metadata: { orderId: "o-1" },
    updatedAt: new Date(updatedAt),
    template: null,
    ...over,
  };
}

function event(type: EventType, at: string, attempt?: number): LifecycleEvent {
  return lifecycleEvent(type, { id: ID, tenantId: "acme", userId: "u1", channel: "webhook" }, { at, ...(attempt ? { attempt } : {}) });
}

function folded(...events: LifecycleEvent[]): Map<string, Folded> {
  const latest = new Map<string, Folded>();
  for (const e of events) foldEvent(latest, e);
  return latest;
}

describe("agrees", () => {
  test("an equal status agrees, another does not, and no events never do", () => {
    expect(agrees("sent", "sent")).toBe(true);
    expect(agrees("sent", "failed")).toBe(false);
    expect(agrees("accepted", null)).toBe(false);
  });

  test("a row still processing agrees with accepted, retrying and scheduled, not with an outcome", () => {
    for (const t of ["accepted", "retrying", "scheduled"] as const) expect(agrees("processing", t)).toBe(true);
    for (const t of ["sent", "failed", "delivered"] as const) expect(agrees("processing", t)).toBe(false);
    expect(agrees("processing", null)).toBe(false);
  });
});

describe("findDrift", () => {
  test("folds events in any arrival order to the greatest by compareEvents", () => {
    const latest = folded(event("sent", T1, 2), event("accepted", T0), event("retrying", T0, 1));
    expect(latest.get(ID)).toEqual({ type: "sent", at: T1 });
    expect(findDrift([row("sent")], latest)).toEqual([]);
  });

  test("reports a row without events, with the event of its status as the repair", () => {
    expect(findDrift([row("sent")], new Map())).toEqual([
      { id: ID, tenantId: "acme", postgres: "sent", events: null, eventsAt: null, updatedAt: T1, repair: { type: "sent" } },
    ]);
  });

  test("a row that moved on after its last event is repairable; one whose events are newer is not", () => {
    const latest = folded(event("accepted", T0), event("sent", T1, 1));
    expect(findDrift([row("failed", T2)], latest)[0]?.repair).toEqual({ type: "failed" });
    // Same instant, same stage: a subscriber's fold keeps the event it has.
    expect(findDrift([row("failed", T1)], latest)[0]?.repair).toEqual({ unrepairable: `the events' sent at ${T1} is not older than the row's updated_at` });
    expect(findDrift([row("accepted", T0)], latest)[0]?.repair).toHaveProperty("unrepairable");
  });

  test("a processing row whose events show an outcome is drift no event can mend", () => {
    expect(findDrift([row("processing", T2)], folded(event("sent", T1, 1)))).toEqual([
      {
        id: ID,
        tenantId: "acme",
        postgres: "processing",
        events: "sent",
        eventsAt: T1,
        updatedAt: T2,
        repair: { unrepairable: "`processing` is not an event" },
      },
    ]);
  });
});

describe("repairEvent", () => {
  test("is the row's status at its updated_at, with its attempt, error, correlation id, metadata and template", () => {
    const ev = repairEvent(row("failed", T2, { template: { name: "welcome", version: 3, category: "onboarding", data: { secret: "x" } } }), "failed");
    expect(ev).toEqual({
      v: 1,
      type: "failed",
      eventId: `${ID}:failed:2`,
      id: ID,
      tenantId: "acme",
      userId: "u1",
      channel: "webhook",
      at: T2,
      attempt: 2,
      error: "HTTP 503",
      correlationId: "c-1",
      metadata: { orderId: "o-1" },
      template: { name: "welcome", version: 3 },
      category: "onboarding",
    });
  });

  test("a sent row's event carries no error and a row never attempted no attempt", () => {
    const ev = repairEvent(row("sent", T1, { attempts: 0, correlationId: null, metadata: null }), "sent");
    expect(ev).toEqual({ v: 1, type: "sent", eventId: `${ID}:sent:0`, id: ID, tenantId: "acme", userId: "u1", channel: "webhook", at: T1 });
  });
});
