// What per-tenant webhook secrets add to a send, measured where it runs: in
// the processor's process, around a receiver that answers at once (a fetch
// stub), so nothing but the send path shows. Three ways of sending one
// webhook, in blocks of 1,000 taking turns within each round: signed with the
// deployment's secret (the path before tenant secrets), with the tenant's one
// secret from the cache, and with two (a rotation's grace: two HMACs, two
// signatures); and the cached lookup alone. Then the read the cache makes
// when a batch's tenants are stale: one query on the real Postgres, 64
// tenants' sealed values opened.
import { rotateWebhookSecret, signingSecretsOf } from "../../lib/db/webhook-secrets.ts";
import type { OutboundNotification, Sender } from "../../processor/channels/types.ts";
import { createWebhookSender } from "../../processor/channels/webhook.ts";
import { cachedSigningKeys, type TenantSigningKeys } from "../../processor/channels/webhook-keys.ts";
import { TEST_WEBHOOK_SECRET } from "../../test/support/constants.ts";
import { createTestDatabase } from "../../test/support/services.ts";
import type { SigningRun } from "../types.ts";

export interface SigningOptions {
  /** Sends per round and way. */
  sends: number;
  rounds: number;
  /** Tenants in the batch read, each with two secrets (a rotation in its grace). */
  tenants: number;
  reads: number;
}

const TOKEN_SECRET = "bench token secret, thirty-two characters or more";

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

const note = (i: number, tenantId: string): OutboundNotification => ({
  id: `00000000-0000-7000-8000-${String(i).padStart(12, "0")}`,
  tenantId,
  userId: "u",
  channel: "webhook",
  type: "transactional",
  payload: { url: "http://127.0.0.1:9/hook", body: { event: "order.shipped", orderId: `o-${i}` } },
  metadata: null,
  correlationId: null,
});

const signal = new AbortController().signal;
const BLOCK = 1000;
const answered = (async () => new Response(null, { status: 204 })) as unknown as typeof fetch;

/** Block after block of 1,000 sends, the ways taking turns, so the box's drift falls on each alike; µs per send of each way. */
async function interleaved(ways: Array<{ sender: Sender; tenant: string }>, sends: number): Promise<number[]> {
  const notes = ways.map((w) => Array.from({ length: BLOCK }, (_, i) => note(i, w.tenant)));
  const spent = ways.map(() => 0);
  for (let block = 0; block < sends / BLOCK; block++) {
    for (let k = 0; k < ways.length; k++) {
      // The order turns each block, and reverses every other lap: each way takes each place and follows each other alike.
      const lap = Math.floor(block / ways.length);
      const w = ((lap % 2 === 0 ? k : ways.length - 1 - k) + block) % ways.length;
      const { sender } = ways[w] as { sender: Sender };
      const batch = notes[w] as OutboundNotification[];
      const started = performance.now();
      for (const n of batch) await sender.send(n, { attempt: 1, signal });
      spent[w] = (spent[w] ?? 0) + performance.now() - started;
    }
  }
  return spent.map((ms) => (ms * 1000) / sends);
}

/** µs per `keysOf` of a cached tenant: all the send path adds before signing. */
async function lookupUs(keys: TenantSigningKeys, tenant: string, n: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const found = keys.keysOf(tenant);
    if (found instanceof Promise) await found;
  }
  return ((performance.now() - started) * 1000) / n;
}

export async function signingPhase(opts: SigningOptions, log: (line: string) => void): Promise<SigningRun> {
  const secretOf = (label: string) => `whsec_${btoa(`bench ${label} secret, 24 bytes`.slice(0, 24))}`;
  const table = new Map([
    ["one", { secrets: [{ secret: secretOf("current"), expiresAt: null }], unreadable: 0 }],
    ["two", { secrets: [secretOf("current"), secretOf("previous")].map((secret) => ({ secret, expiresAt: null })), unreadable: 0 }],
  ]);
  let loads = 0;
  // A TTL longer than the run: the steady state, where every send finds its tenant's keys cached.
  const tenantKeys = cachedSigningKeys({
    ttlMs: 3_600_000,
    load: async (tenants) => {
      loads += 1;
      return new Map(
        tenants.flatMap((t) => {
          const found = table.get(t);
          return found ? [[t, found] as const] : [];
        }),
      );
    },
  });
  const base = { secret: TEST_WEBHOOK_SECRET, timeoutMs: 5_000, allowPrivate: true, fetch: answered };
  const before = createWebhookSender(base);
  const withKeys = createWebhookSender({ ...base, tenantKeys });
  const ways = [
    { sender: before, tenant: "one" },
    { sender: withKeys, tenant: "one" },
    { sender: withKeys, tenant: "two" },
  ];
  // Warm-up: the JIT, and the tenants' keys read into the cache.
  await interleaved(ways, BLOCK * 4);
  const loadsAfterWarmup = loads;
  const us = { deployment: [] as number[], tenant: [] as number[], rotating: [] as number[], lookup: [] as number[] };
  for (let r = 0; r < opts.rounds; r++) {
    const [deployment = 0, tenant = 0, rotating = 0] = await interleaved(ways, opts.sends);
    us.deployment.push(deployment);
    us.tenant.push(tenant);
    us.rotating.push(rotating);
    us.lookup.push(await lookupUs(tenantKeys, "two", opts.sends));
    log(
      `signing: round ${r + 1}: deployment secret ${deployment.toFixed(2)} µs, tenant's one ${tenant.toFixed(2)} µs, two in a grace ${rotating.toFixed(2)} µs a send; the cached lookup alone ${us.lookup.at(-1)?.toFixed(3)} µs`,
    );
  }

  const db = await createTestDatabase();
  try {
    const tenants = Array.from({ length: opts.tenants }, (_, i) => `bench-${i}`);
    for (const tenant of tenants) {
      for (let k = 0; k < 2; k++) await rotateWebhookSecret(db.db, TOKEN_SECRET, tenant, 3600, { actor: "bench", clientAddress: null });
    }
    const ms: number[] = [];
    for (let i = 0; i < opts.reads + 3; i++) {
      const started = performance.now();
      await signingSecretsOf(db.db, TOKEN_SECRET, tenants);
      if (i >= 3) ms.push(performance.now() - started);
    }
    const readMs = median(ms);
    log(`signing: one read of ${opts.tenants} tenants' secrets (2 each, opened): median ${readMs.toFixed(2)} ms`);
    // Each round's ratio, then their median: the rounds drift, their ways together.
    const ratios = us.tenant.map((t, i) => t / (us.deployment[i] ?? t));
    return {
      sends: opts.sends,
      rounds: opts.rounds,
      deploymentUs: us.deployment,
      tenantUs: us.tenant,
      rotatingUs: us.rotating,
      lookupUs: median(us.lookup),
      tenantAddedUs: median(us.tenant.map((t, i) => t - (us.deployment[i] ?? t))),
      rotatingAddedUs: median(us.rotating.map((t, i) => t - (us.deployment[i] ?? t))),
      tenantRatio: median(ratios),
      loadsDuringRounds: loads - loadsAfterWarmup,
      tenants: opts.tenants,
      readMs,
    };
  } finally {
    await db.drop();
  }
}
