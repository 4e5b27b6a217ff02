import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ADMIN_KEY, TENANT_KEY } from "./support/constants.ts";
import { eventually } from "./support/eventually.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { createStack, type Stack } from "./support/stack.ts";

// Issue 21's Done-when against started gateways: a key made through the admin
// API works, is stored only as a hash, and stops on every gateway within 5 s
// of its revocation; scopes answer 403; a stored tenant limit holds across two
// gateways; the audit log names who did each of these.

let stack: Stack;
let gateways: HeraldProcess[] = [];

beforeAll(async () => {
  stack = await createStack();
  gateways = await Promise.all([startHerald("gateway", stack.env), startHerald("gateway", stack.env)]);
}, 60_000);

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.signal("SIGTERM")));
  await stack.cleanup();
});

const gw = (i: number) => {
  const g = gateways[i];
  if (g === undefined) throw new Error(`no gateway ${i}`);
  return g.url;
};

function call(base: string, method: string, path: string, key: string, body?: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

const SEND = { userId: "u-keys", channel: "in_app", payload: { title: "Hi", body: "From a managed key" } };

interface Issued {
  id: string;
  key: string;
  prefix: string;
  scopes: string[];
  tenantId: string;
}

async function createKey(body: Record<string, unknown>, as = ADMIN_KEY, base = gw(0)): Promise<Issued> {
  const res = await call(base, "POST", "/admin/v1/api-keys", as, body);
  expect(res.status).toBe(201);
  expect(res.headers.get("cache-control")).toBe("no-store");
  return (await res.json()) as Issued;
}

function pgDump(): string {
  const run = Bun.spawnSync(["pg_dump", "--data-only", stack.db.url]);
  if (run.exitCode !== 0) throw new Error(`pg_dump failed: ${run.stderr.toString()}`);
  return run.stdout.toString();
}

describe("managed API keys on two started gateways", () => {
  test("a key made through the admin API sends on both gateways, and no table holds its text, only its SHA-256", async () => {
    const issued = await createKey({ tenantId: "acme", scopes: ["send", "read"], name: "checkout service" });
    expect(issued.key).toMatch(/^hk_live_[0-9A-Za-z]{38}$/);
    expect(issued).toMatchObject({ tenantId: "acme", scopes: ["send", "read"], prefix: issued.key.slice(0, 12) });
    for (const base of [gw(0), gw(1)]) {
      const res = await call(base, "POST", "/v1/notifications", issued.key, SEND);
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      // The same tenant as its bootstrap key: acme's notification, readable with acme's other key.
      expect((await call(base, "GET", `/v1/notifications/${id}`, TENANT_KEY)).status).toBe(200);
    }
    const dump = pgDump();
    expect(dump).not.toContain(issued.key);
    expect(dump).not.toContain(issued.key.slice(12));
    expect(dump).toContain(new Bun.CryptoHasher("sha256").update(issued.key).digest("hex"));
    // The list never shows it either.
    const list = await (await call(gw(1), "GET", "/admin/v1/api-keys?tenant=acme", ADMIN_KEY)).text();
    expect(list).toContain(issued.id);
    expect(list).not.toContain(issued.key);
  });

  test("a revoked key gets 401 on the other gateway within 5 s", async () => {
    const issued = await createKey({ tenantId: "acme", scopes: ["send"] });
    // Both gateways have it cached before the revocation.
    for (const base of [gw(0), gw(1)]) expect((await call(base, "POST", "/v1/notifications", issued.key, SEND)).status).toBe(202);
    const revoked = await call(gw(0), "DELETE", `/admin/v1/api-keys/${issued.id}`, ADMIN_KEY);
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revokedAt: string | null }).revokedAt).not.toBeNull();
    const started = Date.now();
    await eventually(async () => (await call(gw(1), "POST", "/v1/notifications", issued.key, SEND)).status === 401, {
      timeoutMs: 5_000,
      everyMs: 50,
      label: "the revoked key's 401 on the other gateway",
    });
    const tookMs = Date.now() - started;
    expect(tookMs).toBeLessThan(5_000);
    const res = await call(gw(0), "POST", "/v1/notifications", issued.key, SEND);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });

  test("a key with only the read scope gets 403 on POST /v1/notifications and reads fine", async () => {
    const reader = await createKey({ tenantId: "acme", scopes: ["read"] });
    const res = await call(gw(0), "POST", "/v1/notifications", reader.key, SEND);
    expect(res.status).toBe(403);
    const problem = (await res.json()) as { detail: string };
    expect(problem.detail).toContain('"send"');
    expect((await call(gw(0), "GET", "/v1/notifications?userId=u-keys", reader.key)).status).toBe(200);
  });

  test("rotation: both keys work during the grace, the old one stops when it ends; a rotation without a body takes the default grace", async () => {
    const first = await createKey({ tenantId: "acme", scopes: ["send"] });
    const res = await call(gw(0), "POST", `/admin/v1/api-keys/${first.id}/rotate`, ADMIN_KEY, { graceSeconds: 2 });
    expect(res.status).toBe(201);
    const rotated = (await res.json()) as Issued & { previous: { id: string; expiresAt: string } };
    expect(rotated.previous.id).toBe(first.id);
    expect(rotated.key).not.toBe(first.key);
    for (const key of [first.key, rotated.key]) expect((await call(gw(1), "POST", "/v1/notifications", key, SEND)).status).toBe(202);
    await eventually(async () => (await call(gw(1), "POST", "/v1/notifications", first.key, SEND)).status === 401, {
      timeoutMs: 6_000,
      everyMs: 100,
      label: "the old key's 401 once its grace ended",
    });
    expect((await call(gw(1), "POST", "/v1/notifications", rotated.key, SEND)).status).toBe(202);
    const again = await fetch(`${gw(0)}/admin/v1/api-keys/${rotated.id}/rotate`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(again.status).toBe(201);
    const graceEnds = Date.parse(((await again.json()) as { previous: { expiresAt: string } }).previous.expiresAt);
    expect(Math.abs(graceEnds - Date.now() - 86_400_000)).toBeLessThan(60_000);
  });

  test("a tenant's admin-scoped key manages its own tenant's keys only; operator routes refuse it", async () => {
    const admin = await createKey({ tenantId: "beta", scopes: ["admin"] });
    const own = await createKey({ scopes: ["read"] }, admin.key);
    expect(own.tenantId).toBe("beta");
    expect((await call(gw(0), "POST", "/admin/v1/api-keys", admin.key, { tenantId: "acme", scopes: ["send"] })).status).toBe(403);
    const listed = (await (await call(gw(0), "GET", "/admin/v1/api-keys", admin.key)).json()) as { data: Issued[] };
    expect(new Set(listed.data.map((k) => k.tenantId))).toEqual(new Set(["beta"]));
    // acme's key is not there for beta: 404, as on /v1.
    const acmeKey = await createKey({ tenantId: "acme", scopes: ["read"] });
    expect((await call(gw(0), "DELETE", `/admin/v1/api-keys/${acmeKey.id}`, admin.key)).status).toBe(404);
    expect((await call(gw(0), "GET", `/admin/v1/api-keys/${acmeKey.id}`, admin.key)).status).toBe(404);
    expect((await call(gw(0), "GET", "/admin/v1/dead-letters", admin.key)).status).toBe(403);
    expect((await call(gw(0), "PUT", "/admin/v1/tenants/beta", admin.key, { rateLimit: { perSecond: 1000, burst: 1000 } })).status).toBe(403);
    // A send-only key is no admin.
    const sender = await createKey({ tenantId: "beta", scopes: ["send"] });
    expect((await call(gw(0), "GET", "/admin/v1/api-keys", sender.key)).status).toBe(403);
  });

  test("bad input is a 400 with field paths and makes no key", async () => {
    const before = (await (await call(gw(0), "GET", "/admin/v1/api-keys?tenant=gamma", ADMIN_KEY)).json()) as { data: unknown[] };
    for (const body of [
      { tenantId: "gamma", scopes: [] },
      { tenantId: "gamma", scopes: ["everything"] },
      { tenantId: "gamma", scopes: ["send", "send"] },
      { tenantId: "ga mma", scopes: ["send"] },
      { tenantId: "gamma", scopes: ["send"], expiresAt: "2001-01-01T00:00:00Z" },
      { tenantId: "gamma", scopes: ["send"], extra: 1 },
      { scopes: ["send"] },
    ]) {
      const res = await call(gw(0), "POST", "/admin/v1/api-keys", ADMIN_KEY, body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      const problem = (await res.json()) as { errors: Array<{ path: string }> };
      expect(problem.errors.length).toBeGreaterThan(0);
    }
    const after = (await (await call(gw(0), "GET", "/admin/v1/api-keys?tenant=gamma", ADMIN_KEY)).json()) as { data: unknown[] };
    expect(after.data.length).toBe(before.data.length);
    // An invented key in the right shape but with a wrong checksum never reaches Postgres, and is a 401 like any other.
    expect((await call(gw(0), "POST", "/v1/notifications", `hk_live_${"A".repeat(38)}`, SEND)).status).toBe(401);
  });

  test("a tenant limit stored through the admin API (10/s, burst 20) holds across both gateways: 200 requests over 2 s admit about 40", async () => {
    const put = await call(gw(0), "PUT", "/admin/v1/tenants/limited", ADMIN_KEY, { rateLimit: { perSecond: 10, burst: 20 } });
    expect(put.status).toBe(200);
    const sender = await createKey({ tenantId: "limited", scopes: ["send"] });
    const statuses: number[] = [];
    const started = Date.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      const at = started + i * 10;
      await Bun.sleep(Math.max(0, at - Date.now()));
      pending.push(call(gw(i % 2), "POST", "/v1/notifications", sender.key, SEND).then((r) => void statuses.push(r.status)));
    }
    await Promise.all(pending);
    const accepted = statuses.filter((s) => s === 202).length;
    expect(statuses.filter((s) => s !== 202 && s !== 429)).toEqual([]);
    // 20 at once, then 10/s for the 2 s: ≈ 40, never the 80 two separate buckets would admit.
    expect(accepted).toBeGreaterThanOrEqual(30);
    expect(accepted).toBeLessThanOrEqual(45);
  });

  test("the audit log lists the key's creation and revocation and a user's erasure, each with its actor", async () => {
    const issued = await createKey({ tenantId: "acme", scopes: ["admin"] });
    expect((await call(gw(1), "DELETE", `/admin/v1/api-keys/${issued.id}`, ADMIN_KEY)).status).toBe(200);
    const eraser = await createKey({ tenantId: "acme", scopes: ["admin", "send"] });
    expect((await call(gw(0), "PUT", "/v1/users/u-1", eraser.key, { email: "u-1@example.com" })).status).toBe(201);
    expect((await call(gw(0), "DELETE", "/v1/users/u-1", eraser.key)).status).toBe(200);
    expect(pgDump()).not.toContain("u-1@example.com");
    const page = (await (await call(gw(1), "GET", "/admin/v1/audit?tenant=acme&limit=1000", ADMIN_KEY)).json()) as {
      data: Array<{ actor: string; action: string; target: string | null; tenantId: string; clientAddress: string | null }>;
    };
    const find = (action: string, target: string) => page.data.find((e) => e.action === action && e.target === target);
    expect(find("api_key.created", issued.id)).toMatchObject({ actor: "operator:ops", tenantId: "acme" });
    expect(find("api_key.revoked", issued.id)).toMatchObject({ actor: "operator:ops", tenantId: "acme" });
    expect(find("user.erased", "u-1")).toMatchObject({ actor: `key:${eraser.id}`, tenantId: "acme" });
    expect(find("api_key.created", issued.id)?.clientAddress).toBeTruthy();
  });
});
