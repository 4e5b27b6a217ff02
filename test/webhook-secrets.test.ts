// Per-tenant webhook signing secrets end to end: a tenant rotates through
// /v1/webhook-secrets, the processor (real NATS and Postgres) signs with every
// valid secret, and receivers holding one secret each verify with the
// `standardwebhooks` package, as a tenant's backend would.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { createApp } from "../gateway/app.ts";
import { createMemoryStore } from "../gateway/store/memory.ts";
import { createNotificationCanceller } from "../lib/db/canceller.ts";
import { createInbox } from "../lib/db/inbox-store.ts";
import { createNotificationReader } from "../lib/db/reads.ts";
import { signingSecretsOf } from "../lib/db/webhook-secrets.ts";
import { createWorkPublisher } from "../lib/nats/work.ts";
import { createWebhookSender } from "../processor/channels/index.ts";
import { cachedSigningKeys } from "../processor/channels/webhook-keys.ts";
import { API_KEY_SCOPES, type ApiKeyScope } from "../schemas/enums.ts";
import { auditLog } from "../schemas/tables.ts";
import type { Principal, TenantDirectory, TenantSettings } from "../schemas/tenancy.ts";
import { OTHER_KEY, TENANT_KEY, TEST_WEBHOOK_SECRET } from "./support/constants.ts";
import { eventually } from "./support/eventually.ts";
import { send } from "./support/gateway-fixture.ts";
import { silentLogger } from "./support/loggers.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { createHarness, testSenders, type Harness } from "./support/processor-harness.ts";
import { createStack, get, post, type Stack } from "./support/stack.ts";

const TOKEN_SECRET = "webhook secrets test token secret, 32+ characters";
const READ_KEY = "key-acme-read-only-0123";
/** Short, so the test sees a rotation without waiting the production 5 s. */
const KEYS_TTL_MS = 200;

interface Delivery {
  id: string;
  body: string;
  headers: Record<string, string>;
}

const principal = (tenant: string, keyId: string, scopes: readonly ApiKeyScope[]): Principal => ({
  tenant,
  keyId,
  scopes: new Set(scopes),
  actor: `key:${keyId}`,
});
const PRINCIPALS = new Map([
  [TENANT_KEY, principal("acme", "k-acme-admin", API_KEY_SCOPES)],
  [OTHER_KEY, principal("beta", "k-beta-admin", API_KEY_SCOPES)],
  [READ_KEY, principal("acme", "k-acme-read", ["send", "read"])],
]);
const SETTINGS: TenantSettings = { rateLimit: null, dailyCaps: {}, retentionDays: 0 };
const directory: TenantDirectory = { authenticate: (key) => PRINCIPALS.get(key), settings: () => SETTINGS, peek: () => SETTINGS };

let h: Harness;
let app: ReturnType<typeof createApp>;
let server: ReturnType<typeof Bun.serve>;
const received = new Map<string, Delivery>();
const loads: string[][] = [];

beforeAll(async () => {
  h = await createHarness();
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const headers = Object.fromEntries(req.headers);
      const id = headers["webhook-id"] ?? "";
      received.set(id, { id, body: await req.text(), headers });
      return new Response(null, { status: 204 });
    },
  });
  const tenantKeys = cachedSigningKeys({
    ttlMs: KEYS_TTL_MS,
    load: (tenants) => {
      loads.push([...tenants].sort());
      return signingSecretsOf(h.db.db, TOKEN_SECRET, tenants);
    },
  });
  const webhook = createWebhookSender({ secret: TEST_WEBHOOK_SECRET, timeoutMs: 3_000, allowPrivate: true, tenantKeys });
  await h.start({ ...testSenders(), webhook });
  app = createApp({
    keys: new Map(),
    tenants: directory,
    store: createMemoryStore(),
    publisher: createWorkPublisher(h.nc, h.topo, { timeoutMs: 2_000 }),
    reader: createNotificationReader(h.db.db),
    canceller: createNotificationCanceller(h.db.db),
    inbox: createInbox(h.db.db),
    webhookSecrets: { db: h.db.db, tokenSecret: TOKEN_SECRET },
    readiness: [],
    logger: silentLogger,
  });
});
afterAll(async () => {
  await server.stop(true);
  await h.cleanup();
});

/** A webhook accepted by the gateway for the key's tenant, as its receiver got it. */
async function deliver(key = TENANT_KEY): Promise<Delivery> {
  const res = await send(app, "/v1/notifications", {
    key,
    body: { userId: "u-1", channel: "webhook", payload: { url: `http://127.0.0.1:${server.port}/hook`, body: { n: crypto.randomUUID() } } },
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  return eventually(async () => received.get(id), { label: `webhook ${id}` });
}

/** Whether a receiver holding only `secret` accepts the delivery. */
function verifies(secret: string, d: Delivery): boolean {
  try {
    new Webhook(secret).verify(d.body, d.headers);
    return true;
  } catch {
    return false;
  }
}

const signatures = (d: Delivery) => (d.headers["webhook-signature"] ?? "").split(" ");

async function rotate(body?: { graceSeconds: number }): Promise<{ id: string; secret: string; previous: { id: string; expiresAt: string } | null }> {
  const res = await send(app, "/v1/webhook-secrets/rotate", body === undefined ? { method: "POST" } : { body });
  expect(res.status).toBe(201);
  expect(res.headers.get("cache-control")).toBe("no-store");
  return (await res.json()) as { id: string; secret: string; previous: { id: string; expiresAt: string } | null };
}

/** Past the processor's cache, so the next send reads the secrets again. */
const afterCache = () => Bun.sleep(KEYS_TTL_MS + 50);

describe("per-tenant webhook secrets", () => {
  const secrets: string[] = [];

  test("a tenant without secrets of its own gets webhooks signed with HERALD_WEBHOOK_SECRET", async () => {
    const d = await deliver();
    expect(signatures(d)).toHaveLength(1);
    expect(verifies(TEST_WEBHOOK_SECRET, d)).toBe(true);
  });

  test("its first secret replaces the deployment's for its webhooks, and no other tenant's", async () => {
    const first = await rotate();
    expect(first.previous).toBeNull();
    expect(first.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    secrets.push(first.secret);
    await afterCache();
    const d = await deliver();
    expect(verifies(first.secret, d)).toBe(true);
    expect(verifies(TEST_WEBHOOK_SECRET, d)).toBe(false);
    const other = await deliver(OTHER_KEY);
    expect(verifies(TEST_WEBHOOK_SECRET, other)).toBe(true);
    expect(verifies(first.secret, other)).toBe(false);
  });

  test("during a rotation's grace, a receiver holding only the old secret and one holding only the new both verify", async () => {
    const [old] = secrets as [string];
    const second = await rotate({ graceSeconds: 2 });
    secrets.push(second.secret);
    const list = (await (await send(app, "/v1/webhook-secrets")).json()) as { data: Array<{ id: string; secret: string; current: boolean }> };
    expect(list.data.map((s) => [s.secret, s.current])).toEqual([
      [second.secret, true],
      [old, false],
    ]);
    await afterCache();
    const d = await deliver();
    expect(signatures(d)).toHaveLength(2);
    expect(verifies(old, d)).toBe(true);
    expect(verifies(second.secret, d)).toBe(true);
    expect(verifies(TEST_WEBHOOK_SECRET, d)).toBe(false);
  });

  test("once the grace is over only the new secret verifies", async () => {
    const [old, current] = secrets as [string, string];
    const list = (await (await send(app, "/v1/webhook-secrets")).json()) as { data: Array<{ expiresAt: string | null }> };
    const ends = Date.parse(list.data.find((s) => s.expiresAt !== null)?.expiresAt ?? "");
    await Bun.sleep(Math.max(0, ends - Date.now()) + 50);
    const d = await deliver();
    expect(signatures(d)).toHaveLength(1);
    expect(verifies(current, d)).toBe(true);
    expect(verifies(old, d)).toBe(false);
  });

  test("a rotated-out secret deleted early stops verifying; the current one cannot be deleted", async () => {
    const [, second] = secrets as [string, string];
    const third = await rotate({ graceSeconds: 3600 });
    secrets.push(third.secret);
    const previous = third.previous?.id ?? "";
    expect((await send(app, `/v1/webhook-secrets/${previous}`, { method: "DELETE" })).status).toBe(204);
    const refused = await send(app, `/v1/webhook-secrets/${third.id}`, { method: "DELETE" });
    expect(refused.status).toBe(409);
    expect(refused.headers.get("content-type")).toStartWith("application/problem+json");
    expect(((await refused.json()) as { type: string }).type).toBe("https://herald.dev/problems/secret_current");
    // Another tenant cannot see or end this tenant's secret.
    expect((await send(app, `/v1/webhook-secrets/${third.id}`, { method: "DELETE", key: OTHER_KEY })).status).toBe(404);
    expect(((await (await send(app, "/v1/webhook-secrets", { key: OTHER_KEY })).json()) as { data: unknown[] }).data).toEqual([]);
    await afterCache();
    const d = await deliver();
    expect(verifies(third.secret, d)).toBe(true);
    expect(verifies(second, d)).toBe(false);
  });

  test("a bad grace is a 400 naming the field, and nothing rotates", async () => {
    const before = await h.db.db.select().from(auditLog);
    const res = await send(app, "/v1/webhook-secrets/rotate", { body: { graceSeconds: 31 * 86_400 } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toEqual(["graceSeconds"]);
    expect(await h.db.db.select().from(auditLog)).toHaveLength(before.length);
  });

  test("a key without the admin scope gets 403 on every webhook-secrets route", async () => {
    for (const [method, path] of [
      ["GET", "/v1/webhook-secrets"],
      ["POST", "/v1/webhook-secrets/rotate"],
      ["DELETE", `/v1/webhook-secrets/${crypto.randomUUID()}`],
    ] as const) {
      const res = await send(app, path, { method, key: READ_KEY });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
    }
  });

  test("the audit log records the creation, each rotation and the revocation with the key that made them", async () => {
    const rows = await h.db.db.select().from(auditLog).where(eq(auditLog.tenantId, "acme")).orderBy(auditLog.id);
    expect(rows.map((r) => [r.action, r.actor])).toEqual([
      ["webhook_secret.created", "key:k-acme-admin"],
      ["webhook_secret.rotated", "key:k-acme-admin"],
      ["webhook_secret.rotated", "key:k-acme-admin"],
      ["webhook_secret.revoked", "key:k-acme-admin"],
    ]);
    expect(rows[1]?.details).toMatchObject({ graceSeconds: 2 });
  });

  test("no table holds a secret in plain text: every row of every table scanned", async () => {
    const tables = await h.db.sql.run(
      "select table_schema || '.' || table_name as name from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE'",
      [],
    );
    const names = tables.map((t) => String(t.name));
    expect(names).toContain("public.webhook_secrets");
    let dump = "";
    for (const name of names) {
      const [schema, table] = name.split(".");
      const rows = await h.db.sql.run(`select t::text as row from "${schema}"."${table}" t`, []);
      dump += rows.map((r) => String(r.row)).join("\n");
    }
    expect(dump).toContain("webhook_secret.rotated");
    for (const secret of secrets) {
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(secret.slice("whsec_".length));
    }
  });

  test("the secrets of a batch's tenants are read in one query, and each webhook is signed with its own tenant's", async () => {
    await send(app, "/v1/webhook-secrets/rotate", { method: "POST", key: OTHER_KEY });
    await afterCache();
    const before = loads.length;
    const ids: Array<{ id: string; tenant: string }> = [];
    // Accepted together, so the lane pulls them as one batch.
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const key = i % 2 === 0 ? TENANT_KEY : OTHER_KEY;
        const res = await send(app, "/v1/notifications", {
          key,
          body: { userId: "u-2", channel: "webhook", payload: { url: `http://127.0.0.1:${server.port}/hook`, body: { i } } },
        });
        ids.push({ id: ((await res.json()) as { id: string }).id, tenant: key === TENANT_KEY ? "acme" : "beta" });
      }),
    );
    const deliveries = await eventually(async () => (ids.every(({ id }) => received.has(id)) ? ids.map(({ id }) => received.get(id) as Delivery) : null));
    const secretOf = async (key: string) =>
      ((await (await send(app, "/v1/webhook-secrets", { key })).json()) as { data: Array<{ secret: string }> }).data[0]?.secret ?? "";
    const mine = { acme: await secretOf(TENANT_KEY), beta: await secretOf(OTHER_KEY) };
    ids.forEach(({ tenant }, i) => {
      const d = deliveries[i] as Delivery;
      expect(verifies(mine[tenant as "acme" | "beta"], d)).toBe(true);
      expect(verifies(mine[tenant === "acme" ? "beta" : "acme"], d)).toBe(false);
    });
    // One read for both tenants per batch the lane made of them, however many webhooks each had.
    const reads = loads.slice(before);
    expect(reads.length).toBeGreaterThanOrEqual(1);
    expect(reads.length).toBeLessThanOrEqual(2);
    expect(reads[0]).toEqual(["acme", "beta"]);
  });
});

describe("started gateway and processor processes", () => {
  let stack: Stack;
  const running: HeraldProcess[] = [];
  beforeAll(async () => {
    // Retries every 0.5 s at most, and budget to spare: however long the wrong processor runs on
    // a loaded machine, the first notification is still retrying, and soon, when the right one starts.
    stack = await createStack({ HERALD_TOKEN_SECRET: TOKEN_SECRET, HERALD_RETRY_MAX_MS: "500", HERALD_MAX_ATTEMPTS: "100" });
  });
  afterAll(async () => {
    await Promise.all(running.map((p) => p.signal("SIGTERM")));
    await stack.cleanup();
  });

  /** A webhook posted to the started gateway, as the receiver got it; null when none came within `ms`. */
  async function deliverThrough(gateway: HeraldProcess, ms = 15_000): Promise<{ delivery: Delivery | null; id: string }> {
    const res = await post(gateway.url, "/v1/notifications", {
      userId: "u-3",
      channel: "webhook",
      payload: { url: `http://127.0.0.1:${server.port}/hook`, body: { at: Date.now() } },
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const delivery = await eventually(async () => received.get(id), { timeoutMs: ms }).catch(() => null);
    return { delivery, id };
  }

  test("a processor with the gateway's HERALD_TOKEN_SECRET signs with the tenant's secret; one with another fails the send retryably, naming it", async () => {
    const gateway = await startHerald("gateway", stack.env);
    running.push(gateway);
    const rotated = await post(gateway.url, "/v1/webhook-secrets/rotate", "");
    expect(rotated.status).toBe(201);
    const { secret } = (await rotated.json()) as { secret: string };

    const wrong = await startHerald("processor", { ...stack.env, HERALD_TOKEN_SECRET: "another token secret, thirty-two characters" });
    running.push(wrong);
    const { delivery: none, id } = await deliverThrough(gateway, 2_000);
    expect(none).toBeNull();
    const attempt = await eventually(async () => {
      const res = await get(gateway.url, `/v1/notifications/${id}/attempts`);
      const { data } = (await res.json()) as { data: Array<{ error: string | null }> };
      return data.find((a) => a.error?.includes("HERALD_TOKEN_SECRET"));
    });
    expect(attempt.error).toContain("do not open");
    expect(await wrong.signal("SIGTERM")).toBe(0);

    const right = await startHerald("processor", stack.env);
    running.push(right);
    // The retry of the first one, and a new one: both signed with the tenant's secret only.
    const retried = await eventually(async () => received.get(id), { label: "the retried webhook" });
    const fresh = await deliverThrough(gateway);
    for (const d of [retried, fresh.delivery as Delivery]) {
      expect(verifies(secret, d)).toBe(true);
      expect(verifies(TEST_WEBHOOK_SECRET, d)).toBe(false);
    }
  });
});
