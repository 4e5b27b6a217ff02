// Every audited action through a real Bun server: one entry each, with the
// key that did it, its tenant, the action, the target and the TCP peer; none
// for a refused request; no address of an erased user left in the log.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gt, sql } from "drizzle-orm";
import { createApp } from "../gateway/app.ts";
import { bunClientAddress, serveGateway } from "../gateway/runtime/bun/serve.ts";
import { createTemplateEngine } from "../lib/templates/render.ts";
import { deadLetterAdmin } from "../processor/dead-letter-admin.ts";
import { API_KEY_SCOPES, type ApiKeyScope } from "../schemas/enums.ts";
import { auditLog, notifications } from "../schemas/tables.ts";
import type { Principal, TenantDirectory, TenantSettings } from "../schemas/tenancy.ts";
import { ADMIN_KEY, OTHER_KEY } from "./support/constants.ts";
import { ADMIN_KEYS, createAppFixture, type AppFixture } from "./support/gateway-fixture.ts";
import { silentLogger } from "./support/loggers.ts";

// The tenant's backend holds a managed key; the audit log names it by its id.
const BACKEND_KEY = "acme-backend-key";
const principals = new Map<string, Principal>([
  [BACKEND_KEY, principal("acme", "k-backend", API_KEY_SCOPES)],
  [OTHER_KEY, principal("beta", null, API_KEY_SCOPES)],
]);
function principal(tenant: string, keyId: string | null, scopes: readonly ApiKeyScope[]): Principal {
  return { tenant, keyId, scopes: new Set(scopes), actor: keyId ? `key:${keyId}` : `tenant:${tenant}` };
}
const SETTINGS: TenantSettings = { rateLimit: null, dailyCaps: {}, retentionDays: 30 };
const directory: TenantDirectory = { authenticate: (key) => principals.get(key), settings: () => SETTINGS, peek: () => SETTINGS };

const EMAIL = "audit-user@example.com";
const PHONE = "+14155550142";
const DEVICE = "device-token-audit-0001";
const DRAFT = {
  category: "account",
  content: { locales: { default: { email: { subject: "Welcome {{ user.name }}", text: "Hello" }, sms: { body: "Hello" } } } },
};

let f: AppFixture;
let server: ReturnType<typeof serveGateway>;
let base: string;
beforeAll(async () => {
  f = await createAppFixture({ tenants: directory });
  await f.jsm.streams.add({ name: f.topo.streams.events, subjects: [f.topo.wildcards.events] });
  const db = f.db.db;
  const peers = bunClientAddress();
  const app = createApp({
    ...f.deps,
    templates: { db, engine: createTemplateEngine() },
    admin: { keys: ADMIN_KEYS, deadLetters: deadLetterAdmin(f.nc, { db, publisher: f.out, topo: f.topo, log: silentLogger }), db },
    clientAddress: peers.clientAddress,
  });
  server = serveGateway(app, { port: 0, hostname: "127.0.0.1" });
  peers.bind(server);
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server?.stop(true);
  await f.cleanup();
});

function call(method: string, path: string, body?: unknown, key = BACKEND_KEY): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    // A forged forwarding header: the log must name the socket's peer all the same.
    headers: { authorization: `Bearer ${key}`, "x-forwarded-for": "203.0.113.66", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

type Entry = { actor: string; tenantId: string | null; action: string; target: string | null; clientAddress: string | null; details: unknown };

/** The entries `act` adds, once it answered `status`. */
async function recordedBy(status: number, act: () => Promise<Response>): Promise<Entry[]> {
  const [mark] = await f.db.db.select({ id: sql<number>`coalesce(max(${auditLog.id}), 0)::int` }).from(auditLog);
  const res = await act();
  expect({ status: res.status, body: res.status === status ? null : await res.text() }).toEqual({ status, body: null });
  await res.body?.cancel();
  const rows = await f.db.db
    .select()
    .from(auditLog)
    .where(gt(auditLog.id, mark?.id ?? 0))
    .orderBy(auditLog.id);
  return rows.map(({ actor, tenantId, action, target, clientAddress, details }) => ({ actor, tenantId, action, target, clientAddress, details }));
}

const byBackend = (action: string, target: string | null, details?: unknown): Entry => ({
  actor: "key:k-backend",
  tenantId: "acme",
  action,
  target,
  clientAddress: "127.0.0.1",
  details: details ?? expect.anything(),
});

describe("the audit log records", () => {
  test("template changes: created, updated, published, with the name and never the content; previews and refusals nothing", async () => {
    expect(await recordedBy(201, () => call("POST", "/v1/templates", { name: "welcome", ...DRAFT }))).toEqual([
      byBackend("template.created", "welcome", { category: "account" }),
    ]);
    expect(await recordedBy(200, () => call("PUT", "/v1/templates/welcome", DRAFT))).toEqual([
      byBackend("template.updated", "welcome", { category: "account" }),
    ]);
    expect(await recordedBy(201, () => call("PUT", "/v1/templates/goodbye", DRAFT))).toEqual([
      byBackend("template.created", "goodbye", { category: "account" }),
    ]);
    expect(await recordedBy(200, () => call("POST", "/v1/templates/welcome/publish"))).toEqual([byBackend("template.published", "welcome", { version: 1 })]);
    expect(await recordedBy(200, () => call("POST", "/v1/templates/welcome/preview", { user: { name: "Ann" } }))).toEqual([]);
    expect(await recordedBy(409, () => call("POST", "/v1/templates", { name: "welcome", ...DRAFT }))).toEqual([]);
    expect(await recordedBy(400, () => call("POST", "/v1/templates", { name: "broken", category: "account" }))).toEqual([]);
    expect(await recordedBy(404, () => call("POST", "/v1/templates/missing/publish"))).toEqual([]);
  });

  test("category changes, and nothing for a refused one", async () => {
    expect(await recordedBy(201, () => call("PUT", "/v1/categories/security", { required: true }))).toEqual([
      byBackend("category.created", "security", { required: true, defaults: {} }),
    ]);
    expect(await recordedBy(200, () => call("PUT", "/v1/categories/security", { required: true, defaults: { sms: false } }))).toEqual([
      byBackend("category.updated", "security", { required: true, defaults: { sms: false } }),
    ]);
    expect(await recordedBy(400, () => call("PUT", "/v1/categories/security", { required: "yes" }))).toEqual([]);
  });

  test("preference changes by the backend, nothing for an opt-out of a required category; profile and device writes are data, not recorded", async () => {
    expect(await recordedBy(201, () => call("PUT", "/v1/users/u-audit", { email: EMAIL, phone: PHONE }))).toEqual([]);
    expect(await recordedBy(201, () => call("POST", "/v1/users/u-audit/devices", { token: DEVICE, platform: "ios" }))).toEqual([]);
    expect(
      await recordedBy(200, () => call("PUT", "/v1/users/u-audit/preferences", { preferences: [{ category: "news", channel: "email", enabled: false }] })),
    ).toEqual([byBackend("preferences.updated", "u-audit", { changes: [{ category: "news", channel: "email", enabled: false }] })]);
    expect(await recordedBy(409, () => call("PUT", "/v1/users/u-audit/preferences", { preferences: [{ category: "security", enabled: false }] }))).toEqual([]);
    expect(await recordedBy(200, () => call("PUT", "/v1/users/u-audit/preferences", { preferences: [] }))).toEqual([]);
  });

  test("a user's export and erasure, with counts only, and no address of theirs left anywhere in the log", async () => {
    const exported = await recordedBy(200, () => call("GET", "/v1/users/u-audit/export"));
    expect(exported).toEqual([byBackend("user.exported", "u-audit", { notifications: 0, truncated: false })]);
    const erased = await recordedBy(200, () => call("DELETE", "/v1/users/u-audit"));
    expect(erased).toEqual([
      byBackend("user.erased", "u-audit", { profile: 1, devices: 1, preferences: 1, notifications: 0, attempts: 0, cancelled: 0, suppressions: 0 }),
    ]);
    expect(await recordedBy(404, () => call("GET", "/v1/users/%00/export"))).toEqual([]);
    const everything = JSON.stringify(await f.db.db.select().from(auditLog));
    for (const personal of [EMAIL, PHONE, DEVICE]) expect(everything).not.toContain(personal);
  });

  test("dead letters replayed by an operator, with counts and filters; a dry run or a refused body nothing", async () => {
    await f.db.db.insert(notifications).values({
      id: crypto.randomUUID(),
      tenantId: "acme",
      userId: "u-replay",
      channel: "in_app",
      type: "transactional",
      priority: "normal",
      status: "failed",
      attempts: 3,
      payload: { title: "Hi", body: "Hello" },
    });
    const replay = (body: unknown) => () => call("POST", "/admin/v1/dead-letters/replay", body, ADMIN_KEY);
    expect(await recordedBy(200, replay({ dryRun: true }))).toEqual([]);
    expect(await recordedBy(400, replay({ channel: "pigeon" }))).toEqual([]);
    expect(await recordedBy(200, replay({ tenant: "acme", channel: "in_app" }))).toEqual([
      {
        actor: "operator:ops",
        tenantId: "acme",
        action: "dead_letters.replayed",
        target: null,
        clientAddress: "127.0.0.1",
        details: { replayed: 1, unreplayable: 0, skipped: 0, filters: { tenant: "acme", channel: "in_app" } },
      },
    ]);
  });

  test("and lists them to the operator over HTTP, the latest first", async () => {
    const res = await call("GET", "/admin/v1/audit?tenant=acme&action=user.", undefined, ADMIN_KEY);
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: Entry[] };
    expect(data.map((e) => `${e.actor} ${e.action} ${e.target}`)).toEqual(["key:k-backend user.erased u-audit", "key:k-backend user.exported u-audit"]);
  });
});
