import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { auditLog, webhookSecrets } from "../../schemas/tables.ts";
import { MAX_ACTIVE_WEBHOOK_SECRETS } from "../../schemas/webhook-secrets.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import { generateWebhookSecret, listWebhookSecrets, revokeWebhookSecret, rotateWebhookSecret, signingSecretsOf, type Rotation } from "./webhook-secrets.ts";

const TOKEN_SECRET = "w".repeat(32);
const BY = { actor: "tenant:test", clientAddress: "192.0.2.1" };

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

function rotated(r: Rotation): Extract<Rotation, { kind: "rotated" }> {
  if (r.kind !== "rotated") throw new Error(`expected a rotation, got ${JSON.stringify(r)}`);
  return r;
}

const rotate = async (tenant: string, grace = 3600) => rotated(await rotateWebhookSecret(db.db, TOKEN_SECRET, tenant, grace, BY));

describe("the webhook secrets writer", () => {
  test("generates whsec_ and the base64 of 24 random bytes", () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(atob(secret.slice(6)).length).toBe(24);
    expect(generateWebhookSecret()).not.toBe(secret);
  });

  test("the first secret is created, a rotation keeps the old one for the grace, and both are listed, the current first", async () => {
    const first = await rotate("t-rotate");
    expect(first.previous).toBeNull();
    expect(first.secret).toMatchObject({ current: true, expiresAt: null });
    const before = Date.now();
    const second = await rotate("t-rotate", 600);
    expect(second.previous?.id).toBe(first.secret.id);
    const ends = Date.parse(second.previous?.expiresAt ?? "");
    expect(ends).toBeGreaterThan(before + 590_000);
    expect(ends).toBeLessThan(Date.now() + 610_000);
    const list = await listWebhookSecrets(db.db, TOKEN_SECRET, "t-rotate");
    expect(list.map((s) => [s.id, s.secret, s.current])).toEqual([
      [second.secret.id, second.secret.secret, true],
      [first.secret.id, first.secret.secret, false],
    ]);
    const audit = await db.db.select().from(auditLog).where(eq(auditLog.tenantId, "t-rotate")).orderBy(auditLog.id);
    expect(audit.map((a) => [a.action, a.target, a.actor, a.clientAddress])).toEqual([
      ["webhook_secret.created", first.secret.id, BY.actor, BY.clientAddress],
      ["webhook_secret.rotated", second.secret.id, BY.actor, BY.clientAddress],
    ]);
    expect(audit[1]?.details).toEqual({ previousId: first.secret.id, graceSeconds: 600, previousExpiresAt: second.previous?.expiresAt });
  });

  test("a grace of 0 ends the old secret at once, and the next rotation deletes its row", async () => {
    const first = await rotate("t-now");
    const second = await rotate("t-now", 0);
    expect((await listWebhookSecrets(db.db, TOKEN_SECRET, "t-now")).map((s) => s.id)).toEqual([second.secret.id]);
    expect((await signingSecretsOf(db.db, TOKEN_SECRET, ["t-now"])).get("t-now")?.secrets.map((s) => s.secret)).toEqual([second.secret.secret]);
    const third = await rotate("t-now", 0);
    const ids = (await db.db.select({ id: webhookSecrets.id }).from(webhookSecrets).where(eq(webhookSecrets.tenantId, "t-now"))).map((r) => r.id);
    expect(ids.sort()).toEqual([second.secret.id, third.secret.id].sort());
    expect(ids).not.toContain(first.secret.id);
  });

  test("stores each secret sealed: no row holds the secret or its base64 part", async () => {
    const { secret } = await rotate("t-sealed");
    const rows = await db.db.execute<{ row: string }>(sql`select row_to_json(w)::text as row from webhook_secrets w`);
    const text = JSON.stringify(rows);
    expect(text).not.toContain(secret.secret);
    expect(text).not.toContain(secret.secret.slice(6));
    expect(text).not.toContain("whsec_");
  });

  test("refuses a rotation past the limit of valid secrets, naming when the earliest grace ends", async () => {
    for (let i = 0; i < MAX_ACTIVE_WEBHOOK_SECRETS; i++) await rotate("t-limit", 120);
    const refused = await rotateWebhookSecret(db.db, TOKEN_SECRET, "t-limit", 120, BY);
    expect(refused).toMatchObject({ kind: "limit", active: MAX_ACTIVE_WEBHOOK_SECRETS });
    expect(refused.kind === "limit" && refused.retryAfterSeconds).toBeGreaterThan(100);
    expect(refused.kind === "limit" && refused.retryAfterSeconds).toBeLessThanOrEqual(120);
    // Without a grace the replaced one does not count: the rotation goes through.
    await rotate("t-limit", 0);
    expect(await listWebhookSecrets(db.db, TOKEN_SECRET, "t-limit")).toHaveLength(MAX_ACTIVE_WEBHOOK_SECRETS);
  });

  test("revokes a rotated-out secret, never the current one nor another tenant's", async () => {
    const old = await rotate("t-revoke");
    const current = await rotate("t-revoke");
    expect(await revokeWebhookSecret(db.db, "t-revoke", current.secret.id, BY)).toBe("current");
    expect(await revokeWebhookSecret(db.db, "t-other", old.secret.id, BY)).toBe("missing");
    expect(await revokeWebhookSecret(db.db, "t-revoke", old.secret.id, BY)).toBe("revoked");
    expect(await revokeWebhookSecret(db.db, "t-revoke", old.secret.id, BY)).toBe("missing");
    expect((await listWebhookSecrets(db.db, TOKEN_SECRET, "t-revoke")).map((s) => s.id)).toEqual([current.secret.id]);
    const [entry] = await db.db.select().from(auditLog).where(eq(auditLog.action, "webhook_secret.revoked"));
    expect(entry).toMatchObject({ tenantId: "t-revoke", target: old.secret.id, actor: BY.actor });
  });

  test("rotations of one tenant at once leave exactly one current secret", async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => rotateWebhookSecret(db.db, TOKEN_SECRET, "t-race", 60, BY)));
    expect(results.every((r) => r.kind === "rotated")).toBe(true);
    const list = await listWebhookSecrets(db.db, TOKEN_SECRET, "t-race");
    expect(list.filter((s) => s.current)).toHaveLength(1);
    expect(list).toHaveLength(4);
  });

  test("reads the signing secrets of several tenants in one go; a tenant without any is left out", async () => {
    const a = await rotate("t-sign-a");
    const b1 = await rotate("t-sign-b");
    const b2 = await rotate("t-sign-b");
    const found = await signingSecretsOf(db.db, TOKEN_SECRET, ["t-sign-a", "t-sign-b", "t-sign-none"]);
    expect([...found.keys()].sort()).toEqual(["t-sign-a", "t-sign-b"]);
    expect(found.get("t-sign-a")).toEqual({ secrets: [{ secret: a.secret.secret, expiresAt: null }], unreadable: 0 });
    expect(found.get("t-sign-b")?.secrets.map((s) => s.secret)).toEqual([b2.secret.secret, b1.secret.secret]);
    expect(found.get("t-sign-b")?.secrets[1]?.expiresAt).toBeInstanceOf(Date);
  });

  test("counts what does not open under another token secret, or none, as unreadable", async () => {
    await rotate("t-unreadable");
    expect((await signingSecretsOf(db.db, "x".repeat(32), ["t-unreadable"])).get("t-unreadable")).toEqual({ secrets: [], unreadable: 1 });
    expect((await signingSecretsOf(db.db, undefined, ["t-unreadable"])).get("t-unreadable")).toEqual({ secrets: [], unreadable: 1 });
    expect((await listWebhookSecrets(db.db, "x".repeat(32), "t-unreadable"))[0]?.secret).toBeNull();
  });

  test("a sealed value moved to another tenant's row does not open there", async () => {
    const a = await rotate("t-move-a");
    const b = await rotate("t-move-b");
    const [row] = await db.db.select().from(webhookSecrets).where(eq(webhookSecrets.id, a.secret.id));
    await db.db
      .update(webhookSecrets)
      .set({ secret: row?.secret ?? "" })
      .where(eq(webhookSecrets.id, b.secret.id));
    expect((await signingSecretsOf(db.db, TOKEN_SECRET, ["t-move-b"])).get("t-move-b")).toEqual({ secrets: [], unreadable: 1 });
  });
});
