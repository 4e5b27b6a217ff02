// `herald events check [--repair]` against a real processor's events and rows corrupted on purpose in the test's own database.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { inArray, sql } from "drizzle-orm";
import type { LifecycleEvent } from "../schemas/events.ts";
import { notifications } from "../schemas/tables.ts";
import { eventually } from "./support/eventually.ts";
import { createHarness, envelope, testSenders, type Harness } from "./support/processor-harness.ts";

const CLI = new URL("../bin/herald.ts", import.meta.url).pathname;

/** The lines `herald events check` prints, as far as these tests read them. */
type CheckLine =
  | {
      kind: "drift";
      id: string;
      tenantId: string;
      postgres: string;
      events: string | null;
      eventsAt: string | null;
      repair: { type: string } | { unrepairable: string };
    }
  | { kind: "repaired"; id: string; type: string; eventId: string; at: string }
  | { kind: "unrepaired"; id: string; reason: string }
  | { kind: "summary"; rows: number; drift: number; repaired: number; unrepaired: number; agedOut: boolean; tenant: string | null };

let h: Harness;
// Before the envelopes: a row's created_at is its envelope's acceptedAt.
const since = new Date(Date.now() - 1000).toISOString();
const sent = Array.from({ length: 6 }, (_, i) => envelope({ tenantId: i % 2 === 0 ? "acme" : "beta", channel: i % 3 === 0 ? "email" : "in_app" }));

async function eventsInStream(): Promise<LifecycleEvent[]> {
  const jsm = await jetstreamManager(h.nc);
  const { state } = await jsm.streams.info(h.topo.streams.events);
  const out: LifecycleEvent[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(h.topo.streams.events, { seq });
    if (m !== null) out.push(m.json<LifecycleEvent>());
  }
  return out;
}

beforeAll(async () => {
  h = await createHarness();
  await h.start(testSenders());
  for (const e of sent) await h.publish(e);
  await eventually(async () => (await Promise.all(sent.map((e) => h.row(e.id)))).every((r) => r?.status === "sent"), { timeoutMs: 15_000 });
  await eventually(async () => (await eventsInStream()).filter((e) => e.type === "sent").length === sent.length);
}, 60_000);

afterAll(async () => {
  await h.cleanup();
});

async function check(...flags: string[]): Promise<{ code: number; lines: CheckLine[]; stderr: string }> {
  const proc = Bun.spawn([process.execPath, CLI, "events", "check", "--since", since, ...flags], {
    env: { PATH: process.env.PATH ?? "", NATS_URL: "nats://127.0.0.1:4222", DATABASE_URL: h.db.url, HERALD_NAMESPACE: h.topo.namespace },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const lines = stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as CheckLine);
  return { code, lines, stderr };
}

const of = <K extends CheckLine["kind"]>(lines: CheckLine[], kind: K) => lines.filter((l): l is Extract<CheckLine, { kind: K }> => l.kind === kind);
const driftIds = (lines: CheckLine[]) => new Set(of(lines, "drift").map((d) => d.id));

describe("herald events check", () => {
  test("a clean run reports no drift and exits 0", async () => {
    const { code, lines, stderr } = await check();
    expect(code).toBe(0);
    expect(of(lines, "drift")).toEqual([]);
    expect(of(lines, "summary")[0]).toMatchObject({ rows: 6, drift: 0, agedOut: false });
    expect(stderr).toContain("6 notifications created");
    expect(stderr).not.toContain("warning");
    const acme = await check("--tenant", "acme");
    expect(of(acme.lines, "summary")[0]).toMatchObject({ rows: 3, drift: 0, tenant: "acme" });
  });

  test("reports exactly the rows corrupted on purpose, and --repair publishes the events of those it can mend so a second check is clean for them", async () => {
    const [moved, processing, rewound] = sent.map((e) => e.id);
    if (moved === undefined || processing === undefined || rewound === undefined) throw new Error("no envelopes");
    // A row that moved on after its last event was lost; a row stuck as processing; a row set back to before its events.
    await h.db.db.execute(sql`update notifications set status = 'failed', last_error = 'lost event', updated_at = now() where id = ${moved}`);
    await h.db.db.execute(sql`update notifications set status = 'processing', updated_at = now() where id = ${processing}`);
    await h.db.db.execute(sql`update notifications set status = 'accepted' where id = ${rewound}`);
    // A row whose events were never published at all.
    const silent = crypto.randomUUID();
    await h.db.db.insert(notifications).values({
      id: silent,
      tenantId: "beta",
      userId: "u-silent",
      channel: "in_app",
      type: "transactional",
      priority: "normal",
      status: "sent",
      payload: { title: "Hi", body: "Hello" },
      attempts: 1,
    });

    const found = await check();
    expect(found.code).toBe(1);
    expect(driftIds(found.lines)).toEqual(new Set([moved, processing, rewound, silent]));
    const byId = new Map(of(found.lines, "drift").map((d) => [d.id, d]));
    expect(byId.get(moved)).toMatchObject({ tenantId: sent[0]?.tenantId, postgres: "failed", events: "sent", repair: { type: "failed" } });
    expect(byId.get(processing)).toMatchObject({ postgres: "processing", events: "sent", repair: { unrepairable: "`processing` is not an event" } });
    expect(byId.get(rewound)).toMatchObject({ postgres: "accepted", events: "sent" });
    expect(byId.get(rewound)?.repair).toHaveProperty("unrepairable");
    expect(byId.get(silent)).toMatchObject({ tenantId: "beta", postgres: "sent", events: null, eventsAt: null, repair: { type: "sent" } });
    expect(of(found.lines, "summary")[0]).toMatchObject({ rows: 7, drift: 4, repaired: 0 });

    const repaired = await check("--repair");
    expect(repaired.code).toBe(1);
    expect(of(repaired.lines, "repaired").map((r) => [r.id, r.type, r.eventId])).toEqual(
      [moved, silent].map((id) => [id, id === moved ? "failed" : "sent", `${id}:${id === moved ? "failed" : "sent"}:1`]),
    );
    expect(new Set(of(repaired.lines, "unrepaired").map((r) => r.id))).toEqual(new Set([processing, rewound]));
    expect(repaired.stderr).toContain("4 drift, 2 repaired, 2 not repairable");
    // What a subscriber now reads: the repair's events, with the row's updated_at and its last error.
    const rows = await h.db.db
      .select()
      .from(notifications)
      .where(inArray(notifications.id, [moved, silent]));
    const published = (await eventsInStream()).filter((e) => e.eventId === `${moved}:failed:1` || e.eventId === `${silent}:sent:1`);
    expect(published.map((e) => [e.id, e.type, e.at, e.error])).toEqual(
      [moved, silent].map((id) => {
        const row = rows.find((r) => r.id === id);
        return [id, id === moved ? "failed" : "sent", row?.updatedAt.toISOString(), id === moved ? "lost event" : undefined];
      }),
    );

    const again = await check();
    expect(again.code).toBe(1);
    expect(driftIds(again.lines)).toEqual(new Set([processing, rewound]));
  });

  test("warns when --since is older than the stream's first message, since events have aged out", async () => {
    const jsm = await jetstreamManager(h.nc);
    await jsm.streams.purge(h.topo.streams.events, { keep: 2 });
    const { code, stderr, lines } = await check();
    expect(code).toBe(1);
    expect(stderr).toContain("warning: the events stream starts at");
    expect(stderr).toContain("older events have aged out (HERALD_EVENTS_MAX_AGE_DAYS=7)");
    expect(of(lines, "summary")[0]).toMatchObject({ agedOut: true });
  });
});
