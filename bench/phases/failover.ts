// What failover adds to the send path, measured where it runs: in the
// processor's process, around a provider that answers at once (the sink), so
// nothing but the added work shows. Three ways of sending one notification,
// rounds alternating: the sender called directly (the path before failover),
// through the channel's routes with the breaker closed (pick, cockatiel's
// execute, settle), and with the primary's breaker open (the pick skips it for
// the next provider). Then the batch's one suppression lookup, against the
// real Postgres with a populated suppressions table.
import { recordSuppressions, suppressedAmong, type Suppression } from "../../lib/db/suppressions.ts";
import { RetryableError } from "../../processor/channels/errors.ts";
import { createSinkSender } from "../../processor/channels/sink.ts";
import type { OutboundNotification, Sender } from "../../processor/channels/types.ts";
import { createRoutes, type Routes } from "../../processor/failover.ts";
import { createTestDatabase } from "../../test/support/services.ts";
import type { FailoverRun } from "../types.ts";

export interface FailoverOptions {
  /** Sends per round and way. */
  sends: number;
  rounds: number;
  /** Rows in the suppressions table, and addresses looked up per batch (HERALD_BATCH_SIZE). */
  suppressions: number;
  batch: number;
  lookups: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

const note = (i: number): OutboundNotification => ({
  id: `00000000-0000-7000-8000-${String(i).padStart(12, "0")}`,
  tenantId: "acme",
  userId: "u",
  channel: "email",
  type: "transactional",
  payload: { to: `user${i}@example.com`, subject: "Hi", body: "Hello" },
  metadata: null,
  correlationId: null,
});

const signal = new AbortController().signal;

function routesOver(email: Sender[]): Routes {
  const sink = (c: "sms" | "push") => [createSinkSender(c)];
  return createRoutes(
    { email, sms: sink("sms"), push: sink("push"), webhook: [createSinkSender("webhook")], in_app: [createSinkSender("in_app")] },
    { breaker: { failures: 1, halfOpenMs: 3_600_000 } },
  );
}

/** µs per send of `send` over `n` notifications. */
async function timeSends(n: number, send: (x: OutboundNotification, i: number) => Promise<unknown>): Promise<number> {
  const notes = Array.from({ length: 1000 }, (_, i) => note(i));
  const started = performance.now();
  for (let i = 0; i < n; i++) await send(notes[i % notes.length] as OutboundNotification, i);
  return ((performance.now() - started) * 1000) / n;
}

export async function failoverPhase(opts: FailoverOptions, log: (line: string) => void): Promise<FailoverRun> {
  const direct = createSinkSender("email");
  const closed = routesOver([createSinkSender("email"), createSinkSender("email")]);
  const down: Sender = {
    provider: "down",
    send: () => Promise.reject(new RetryableError("HTTP 503")),
  };
  const failing = routesOver([down, createSinkSender("email")]);
  // One failure opens it (failures: 1); the pause is an hour, so it stays open.
  const opening = failing.pick(note(0));
  if (opening.kind === "send") await opening.route.call(note(0), { attempt: 1, signal }).catch(() => undefined);
  failing.settle(opening);

  const through = (routes: Routes) => async (n: OutboundNotification, i: number) => {
    const p = routes.pick(n);
    try {
      if (p.kind === "send") await p.route.call(n, { attempt: i, signal });
    } finally {
      routes.settle(p);
    }
  };
  const ways = {
    direct: (n: OutboundNotification, i: number) => direct.send(n, { attempt: i, signal }),
    closed: through(closed),
    open: through(failing),
  };
  // Warm-up, then rounds in alternating order so drift falls on every way alike.
  for (const send of Object.values(ways)) await timeSends(opts.sends / 4, send);
  const us: Record<keyof typeof ways, number[]> = { direct: [], closed: [], open: [] };
  const order = Object.keys(ways) as Array<keyof typeof ways>;
  for (let r = 0; r < opts.rounds; r++) {
    for (const way of r % 2 === 0 ? order : [...order].reverse()) us[way].push(await timeSends(opts.sends, ways[way]));
    log(
      `failover: round ${r + 1}: direct ${us.direct.at(-1)?.toFixed(3)} µs, closed ${us.closed.at(-1)?.toFixed(3)} µs, open ${us.open.at(-1)?.toFixed(3)} µs a send`,
    );
  }

  const db = await createTestDatabase();
  try {
    const rows: Suppression[] = Array.from({ length: opts.suppressions }, (_, i) => ({
      tenantId: "acme",
      channel: "email",
      address: `bounced${i}@example.com`,
      reason: "bench",
      source: "bounce",
      notificationId: null,
    }));
    for (let i = 0; i < rows.length; i += 5000) await recordSuppressions(db.sql, rows.slice(i, i + 5000));
    await db.sql.run("analyze suppressions", []);
    // A batch of mostly clean addresses with a few suppressed ones, as production sees.
    const keys = Array.from({ length: opts.batch }, (_, i) => ({
      tenantId: "acme",
      channel: "email" as const,
      address: i % 50 === 0 ? `bounced${i}@example.com` : `clean${i}@example.com`,
    }));
    const ms: number[] = [];
    for (let i = 0; i < opts.lookups + 5; i++) {
      const started = performance.now();
      await suppressedAmong(db.sql, keys);
      if (i >= 5) ms.push(performance.now() - started);
    }
    const lookupMs = median(ms);
    log(`failover: suppression lookup of ${opts.batch} addresses among ${opts.suppressions} rows: median ${lookupMs.toFixed(2)} ms`);
    return {
      sends: opts.sends,
      rounds: opts.rounds,
      directUs: us.direct,
      closedUs: us.closed,
      openUs: us.open,
      breakerUs: median(us.closed) - median(us.direct),
      failoverUs: median(us.open) - median(us.direct),
      suppressions: opts.suppressions,
      batch: opts.batch,
      lookupMs,
      lookupUsPerMessage: (lookupMs * 1000) / opts.batch,
    };
  } finally {
    await db.drop();
  }
}
