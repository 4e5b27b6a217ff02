import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import {
  claimDue,
  enqueueDeliveries,
  listDeliveries,
  pruneDeliveries,
  recordAttempt,
  replayFailed,
  type AttemptResult,
  type NewDelivery,
} from "./webhook-deliveries.ts";
import { createEndpoint, deleteEndpoint, noteEndpointFailure, updateEndpoint } from "./webhook-endpoints.ts";

const TOKEN_SECRET = "d".repeat(32);
const BY = { actor: "tenant:test", clientAddress: null };
const LEASE = { leaseMs: 60_000, skipEndpoints: [] };
const FAILED: AttemptResult = { ok: false, statusCode: 500, latencyMs: 3, error: "HTTP 500", responseBody: "no" };
const OK: AttemptResult = { ok: true, statusCode: 204, latencyMs: 2, error: null, responseBody: null };

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

async function endpoint(tenant: string): Promise<string> {
  const made = await createEndpoint(db.db, TOKEN_SECRET, tenant, { url: `https://hooks.example.com/${tenant}`, eventTypes: ["*"], enabled: true }, BY);
  return made.endpoint.id;
}

const owed = (endpointId: string, tenantId: string, eventId: string): NewDelivery => ({
  endpointId,
  tenantId,
  userId: "u-1",
  eventId,
  eventType: "sent",
  event: { eventId },
});

describe("the webhook deliveries writer", () => {
  test("a copy of an event owed to an endpoint adds nothing", async () => {
    const ep = await endpoint("copies");
    expect(await enqueueDeliveries(db.db, [owed(ep, "copies", "e-1"), owed(ep, "copies", "e-2")])).toBe(2);
    expect(await enqueueDeliveries(db.db, [owed(ep, "copies", "e-1")])).toBe(0);
  });

  test("a claim takes at most `perEndpoint` rows of an endpoint, and a claimed row is leased from the next claim", async () => {
    const busy = await endpoint("busy");
    const quiet = await endpoint("quiet");
    await enqueueDeliveries(db.db, [...Array.from({ length: 10 }, (_, i) => owed(busy, "busy", `b-${i}`)), owed(quiet, "quiet", "q-0")]);
    const first = await claimDue(db.db, { ...LEASE, limit: 50, perEndpoint: 2 });
    const mine = first.filter((d) => d.tenantId === "busy" || d.tenantId === "quiet");
    expect(mine.filter((d) => d.endpointId === busy)).toHaveLength(2);
    expect(mine.filter((d) => d.endpointId === quiet)).toHaveLength(1);
    const second = await claimDue(db.db, { ...LEASE, limit: 50, perEndpoint: 2, skipEndpoints: [busy] });
    expect(second.filter((d) => d.endpointId === busy || d.endpointId === quiet)).toEqual([]);
    expect(mine.every((d) => d.attempt === 1 && d.roundAttempt === 1)).toBe(true);
  });

  test("an outcome is written only by the claim that made the attempt", async () => {
    const ep = await endpoint("stale");
    await enqueueDeliveries(db.db, [owed(ep, "stale", "s-1")]);
    const [claim] = (await claimDue(db.db, { ...LEASE, limit: 50, perEndpoint: 5 })).filter((d) => d.endpointId === ep);
    if (claim === undefined) throw new Error("nothing claimed");
    // The lease ran out and another claim took the row.
    await db.db.execute(sql`update webhook_deliveries set next_attempt_at = now() - interval '1 second' where endpoint_id = ${ep}`);
    const [again] = (await claimDue(db.db, { ...LEASE, limit: 50, perEndpoint: 5 })).filter((d) => d.endpointId === ep);
    expect(again?.attempt).toBe(2);
    expect(await recordAttempt(db.db, claim, OK, null)).toBeNull();
    if (again === undefined) throw new Error("not claimed again");
    expect(await recordAttempt(db.db, again, OK, null)).toBe("delivered");
  });

  test("a spent schedule leaves the delivery failed, and replay since T queues exactly the failed ones since T, once", async () => {
    const ep = await endpoint("replay");
    await enqueueDeliveries(db.db, [owed(ep, "replay", "r-old")]);
    await db.db.execute(sql`update webhook_deliveries set created_at = now() - interval '1 hour' where endpoint_id = ${ep}`);
    await enqueueDeliveries(db.db, [owed(ep, "replay", "r-new")]);
    for (const d of (await claimDue(db.db, { ...LEASE, limit: 50, perEndpoint: 5 })).filter((x) => x.endpointId === ep)) {
      expect(await recordAttempt(db.db, d, FAILED, null)).toBe("failed");
    }
    const since = new Date(Date.now() - 60_000).toISOString();
    expect(await replayFailed(db.db, "replay", ep, { since }, BY)).toBe(1);
    expect(await replayFailed(db.db, "replay", ep, { since }, BY)).toBe(0);
    const pending = await listDeliveries(db.db, "replay", ep, { status: "pending", limit: 10 });
    expect(pending.data.map((d) => d.eventId)).toEqual(["r-new"]);
    // Another tenant replays nothing of it.
    expect(await replayFailed(db.db, "other", ep, { since: new Date(0).toISOString() }, BY)).toBe(0);
  });

  test("an attempt finished after its endpoint was deleted records nothing and does not throw", async () => {
    const ep = await endpoint("gone");
    await enqueueDeliveries(db.db, [owed(ep, "gone", "g-1")]);
    const [claim] = (await claimDue(db.db, { ...LEASE, limit: 50, perEndpoint: 5 })).filter((d) => d.endpointId === ep);
    if (claim === undefined) throw new Error("nothing claimed");
    expect(await deleteEndpoint(db.db, "gone", ep, BY)).toBe(true);
    expect(await recordAttempt(db.db, claim, FAILED, 5)).toBeNull();
  });

  test("failures disable an endpoint once its failing run is old enough, exactly once; re-enabling clears it", async () => {
    const ep = await endpoint("disable");
    expect((await noteEndpointFailure(db.db, ep, 60_000))?.kind).toBe("failing");
    await db.db.execute(sql`update webhook_endpoints set failing_since = now() - interval '2 minutes' where id = ${ep}`);
    const notes = await Promise.all([noteEndpointFailure(db.db, ep, 60_000), noteEndpointFailure(db.db, ep, 60_000)]);
    expect(notes.map((n) => n?.kind).sort()).toEqual(["disabled", "failing"]);
    const view = await updateEndpoint(db.db, "disable", ep, { enabled: true }, BY);
    expect(view).toMatchObject({ enabled: true, disabledAt: null, disabledReason: null, failingSince: null });
  });

  test("the prune pass takes ended deliveries past their tenant's retention, and keeps pending ones", async () => {
    const short = await endpoint("short-retention");
    const long = await endpoint("long-retention");
    await db.db.execute(sql`insert into tenants (id, retention_days) values ('short-retention', 1)`);
    await enqueueDeliveries(db.db, [
      owed(short, "short-retention", "old-ended"),
      owed(short, "short-retention", "old-pending"),
      owed(long, "long-retention", "old-ended"),
    ]);
    await db.db.execute(sql`update webhook_deliveries set created_at = now() - interval '3 days' where endpoint_id in (${short}, ${long})`);
    await db.db.execute(sql`update webhook_deliveries set status = 'delivered' where event_id = 'old-ended'`);
    expect(await pruneDeliveries(db.db, 90, { batch: 1 })).toBe(1);
    const left = await db.db.execute(
      sql`select event_id, tenant_id from webhook_deliveries where endpoint_id in (${short}, ${long}) order by tenant_id, event_id`,
    );
    expect(Array.from(left as unknown as Array<{ event_id: string; tenant_id: string }>).map((r) => `${r.tenant_id}:${r.event_id}`)).toEqual([
      "long-retention:old-ended",
      "short-retention:old-pending",
    ]);
  });
});
