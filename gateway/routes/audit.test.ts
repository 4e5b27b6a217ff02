import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApp } from "../app.ts";
import { appendAudit, type AuditRecord } from "../../lib/db/audit.ts";
import { API_KEY_SCOPES, type ApiKeyScope } from "../../schemas/enums.ts";
import type { Principal, TenantDirectory, TenantSettings } from "../../schemas/tenancy.ts";
import { ADMIN_KEY, OTHER_KEY, TENANT_KEY } from "../../test/support/constants.ts";
import { ADMIN_KEYS, createAppFixture, send, type AppFixture } from "../../test/support/gateway-fixture.ts";
import type { AdminDeps } from "../context.ts";

// Acme's managed key with the admin scope, and one without it: what a tenant's backend would hold.
const ACME_ADMIN = "acme-admin-key";
const ACME_SENDER = "acme-send-key";
const principals = new Map<string, Principal>([
  [TENANT_KEY, principal("acme", null, API_KEY_SCOPES)],
  [OTHER_KEY, principal("beta", null, API_KEY_SCOPES)],
  [ACME_ADMIN, principal("acme", "k-admin", ["admin"])],
  [ACME_SENDER, principal("acme", "k-send", ["send"])],
]);
function principal(tenant: string, keyId: string | null, scopes: readonly ApiKeyScope[]): Principal {
  return { tenant, keyId, scopes: new Set(scopes), actor: keyId ? `key:${keyId}` : `tenant:${tenant}` };
}
const SETTINGS: TenantSettings = { rateLimit: null, dailyCaps: {}, retentionDays: 30 };
const directory: TenantDirectory = { authenticate: (key) => principals.get(key), settings: () => SETTINGS, peek: () => SETTINGS };

let f: AppFixture;
let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  f = await createAppFixture({ tenants: directory });
  const admin: AdminDeps = { keys: ADMIN_KEYS, deadLetters: {} as AdminDeps["deadLetters"], db: f.db.db };
  app = createApp({ ...f.deps, admin });
  const db = f.db.db;
  const by = { actor: "operator:ops", clientAddress: "192.0.2.1" };
  await appendAudit(db, { ...by, tenantId: "acme", action: "api_key.created", target: "k-admin", details: { scopes: ["admin"] } });
  await appendAudit(db, { ...by, tenantId: "beta", action: "api_key.created", target: "k-beta" });
  await appendAudit(db, { ...by, tenantId: "acme", action: "tenant.updated", target: "acme", details: { changed: ["rateLimit"] } });
  await appendAudit(db, { actor: "key:k-admin", clientAddress: "192.0.2.2", tenantId: "acme", action: "user.erased", target: "u-1", details: { profile: 1 } });
  await appendAudit(db, { ...by, tenantId: null, action: "dead_letters.replayed", target: null, details: { replayed: 2 } });
  await appendAudit(db, { ...by, tenantId: "acme", action: "api_key.revoked", target: "k-admin" });
});
afterAll(async () => {
  await f.cleanup();
});

type AuditList = { data: AuditRecord[]; nextCursor: string | null };
const audit = async (query = "", key: string | null = ADMIN_KEY) => send(app, `/admin/v1/audit${query}`, { key });
const list = async (query = "", key: string | null = ADMIN_KEY) => {
  const res = await audit(query, key);
  expect(res.status).toBe(200);
  return (await res.json()) as AuditList;
};
const actions = async (query = "", key: string | null = ADMIN_KEY) => (await list(query, key)).data.map((e) => `${e.tenantId ?? "-"} ${e.action}`);

describe("GET /admin/v1/audit", () => {
  test("an operator reads every tenant's entries, newest first, each field as recorded", async () => {
    expect(await actions()).toEqual([
      "acme api_key.revoked",
      "- dead_letters.replayed",
      "acme user.erased",
      "acme tenant.updated",
      "beta api_key.created",
      "acme api_key.created",
    ]);
    const erased = (await list("?action=user.erased")).data[0];
    expect(erased).toMatchObject({ actor: "key:k-admin", tenantId: "acme", target: "u-1", clientAddress: "192.0.2.2", details: { profile: 1 } });
    expect(Number.isNaN(Date.parse(erased?.at ?? ""))).toBe(false);
  });

  test("filters by tenant, actor, action or action prefix, target and time", async () => {
    expect(await actions("?tenant=beta")).toEqual(["beta api_key.created"]);
    expect(await actions("?actor=key:k-admin")).toEqual(["acme user.erased"]);
    expect(await actions("?action=api_key.")).toEqual(["acme api_key.revoked", "beta api_key.created", "acme api_key.created"]);
    expect(await actions("?action=api_key.&tenant=acme&target=k-admin")).toEqual(["acme api_key.revoked", "acme api_key.created"]);
    expect(await actions(`?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
    expect(await actions(`?until=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toHaveLength(6);
  });

  test("pages with the cursor: every entry once, in order, and null after the last", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: AuditList = await list(`?limit=4${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.data.map((e) => String(e.id)));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual((await list()).data.map((e) => String(e.id)));
    expect(new Set(seen).size).toBe(6);
  });

  test("a tenant's admin key reads only its own tenant's entries, never the operators' on every tenant", async () => {
    expect(await actions("", ACME_ADMIN)).toEqual(["acme api_key.revoked", "acme user.erased", "acme tenant.updated", "acme api_key.created"]);
    expect(await actions("?tenant=acme&action=api_key.", ACME_ADMIN)).toEqual(["acme api_key.revoked", "acme api_key.created"]);
    const other = await audit("?tenant=beta", ACME_ADMIN);
    expect(other.status).toBe(403);
    expect(other.headers.get("content-type")).toContain("application/problem+json");
  });

  test("refuses a bad filter with 400 naming each parameter, and keys that may not read it", async () => {
    const bad = await audit("?limit=0&cursor=abc&since=yesterday&action=");
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
    const { errors } = (await bad.json()) as { errors: { path: string }[] };
    expect(errors.map((e) => e.path).sort()).toEqual(["action", "cursor", "limit", "since"]);
    expect((await audit("?limit=1001")).status).toBe(400);
    expect((await audit("", null)).status).toBe(401);
    expect((await audit("", ACME_SENDER)).status).toBe(403);
  });

  test("answers 503 when the gateway has no database for it", async () => {
    const bare = createApp({ ...f.deps, admin: { keys: ADMIN_KEYS, deadLetters: {} as AdminDeps["deadLetters"] } });
    expect((await send(bare, "/admin/v1/audit", { key: ADMIN_KEY })).status).toBe(503);
  });
});
