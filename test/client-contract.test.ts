// @herald/client cannot drift from the gateway: its contract is the OpenAPI document's, and every operation has a method.
import { describe, expect, test } from "bun:test";
import { HeraldClient, OPERATIONS, type OperationId } from "@herald/client";
import { OPERATION_SCOPES } from "../gateway/scopes.ts";

const BUILD_SDK = new URL("../bin/build-sdk.ts", import.meta.url).pathname;

/** One call of each operation through its client method; a new operation fails to compile here until it has one. */
const CALLS: Record<OperationId, (c: HeraldClient) => Promise<unknown>> = {
  createNotification: (c) => c.notifications.send({ userId: "u", channel: "in_app", payload: { title: "t", body: "b" } }),
  createNotificationBatch: (c) => c.notifications.sendBatch([]),
  listNotifications: (c) => c.notifications.list({ userId: "u" }),
  getNotification: (c) => c.notifications.get("n-1"),
  listAttempts: (c) => c.notifications.attempts("n-1"),
  cancelNotification: (c) => c.notifications.cancel("n-1"),
  listTemplates: (c) => c.templates.list(),
  createTemplate: (c) => c.templates.create({ name: "t", category: "news", content: { locales: {} } }),
  getTemplate: (c) => c.templates.get("t"),
  putTemplate: (c) => c.templates.put("t", { name: "t", category: "news", content: { locales: {} } }),
  publishTemplate: (c) => c.templates.publish("t"),
  previewTemplate: (c) => c.templates.preview("t", { data: {} }),
  mintInboxToken: (c) => c.inbox.createToken({ userId: "u" }),
  listInbox: (c) => c.inbox.list({ userId: "u" }),
  markRead: (c) => c.inbox.markRead("n-1"),
  markInboxRead: (c) => c.inbox.markAllRead({ userId: "u" }),
  getUser: (c) => c.users.get("u"),
  putUser: (c) => c.users.put("u", {}),
  patchUser: (c) => c.users.patch("u", {}),
  deleteUser: (c) => c.users.erase("u"),
  exportUser: (c) => c.users.export("u"),
  addDevice: (c) => c.users.addDevice("u", { token: "d", platform: "ios" }),
  removeDevice: (c) => c.users.removeDevice("u", "d"),
  getPreferences: (c) => c.users.getPreferences("u"),
  setPreferences: (c) => c.users.setPreferences("u", { preferences: [] }),
  listCategories: (c) => c.categories.list(),
  getCategory: (c) => c.categories.get("news"),
  putCategory: (c) => c.categories.put("news", {}),
  listWebhookSecrets: (c) => c.webhookSecrets.list(),
  rotateWebhookSecret: (c) => c.webhookSecrets.rotate(),
  deleteWebhookSecret: (c) => c.webhookSecrets.delete("s-1"),
  createWebhookEndpoint: (c) => c.webhookEndpoints.create({ url: "https://hooks.example.com/herald" }),
  listWebhookEndpoints: (c) => c.webhookEndpoints.list(),
  getWebhookEndpoint: (c) => c.webhookEndpoints.get("e-1"),
  updateWebhookEndpoint: (c) => c.webhookEndpoints.update("e-1", { enabled: true }),
  deleteWebhookEndpoint: (c) => c.webhookEndpoints.delete("e-1"),
  getWebhookEndpointSecret: (c) => c.webhookEndpoints.secret("e-1"),
  rotateWebhookEndpointSecret: (c) => c.webhookEndpoints.rotateSecret("e-1"),
  listWebhookDeliveries: (c) => c.webhookEndpoints.deliveries("e-1", { status: "failed" }),
  listWebhookDeliveryAttempts: (c) => c.webhookEndpoints.attempts("e-1", "d-1"),
  retryWebhookDelivery: (c) => c.webhookEndpoints.retry("e-1", "d-1"),
  replayWebhookDeliveries: (c) => c.webhookEndpoints.replay("e-1", { since: "2026-12-07T00:00:00Z" }),
  readEvents: (c) => c.admin.events.read({ since: "2026-12-07T00:00:00Z" }),
  notificationHistory: (c) => c.admin.events.history("n-1"),
  createApiKey: (c) => c.admin.apiKeys.create({ scopes: ["read"] }),
  listApiKeys: (c) => c.admin.apiKeys.list(),
  getApiKey: (c) => c.admin.apiKeys.get("k-1"),
  revokeApiKey: (c) => c.admin.apiKeys.revoke("k-1"),
  rotateApiKey: (c) => c.admin.apiKeys.rotate("k-1"),
  getTenant: (c) => c.admin.tenants.get("acme"),
  updateTenant: (c) => c.admin.tenants.update("acme", {}),
  listAudit: (c) => c.admin.audit.list(),
  listDeadLetters: (c) => c.admin.deadLetters.list(),
  listInvalidDeadLetters: (c) => c.admin.deadLetters.listInvalid(),
  replayDeadLetters: (c) => c.admin.deadLetters.replay({ dryRun: true }),
};

/** The method and path template each client method requests, read off a fetch that answers 200 `{}`. */
async function requested(id: OperationId): Promise<string> {
  let seen = "";
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    // Path parameters were filled in; put each back as its template's name so the two compare.
    const template = OPERATIONS[id].path;
    const actual = new URL(String(input)).pathname.split("/");
    const path = template
      .split("/")
      .map((seg, i) => (seg.startsWith("{") ? seg : actual[i]))
      .join("/");
    seen = `${init?.method} ${path}`;
    return new Response("{}", { status: 200, headers: { "content-type": "application/json" } });
  }) as typeof globalThis.fetch;
  await CALLS[id](new HeraldClient({ baseUrl: "http://herald.test", apiKey: "k", fetch }));
  return seen;
}

describe("@herald/client's contract", () => {
  test("sdk/client/src/contract.ts is what the gateway's OpenAPI document generates", () => {
    const r = Bun.spawnSync([process.execPath, BUILD_SDK, "--check"], { stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  }, 20_000);

  test("every operation in OPERATION_SCOPES has a client method that requests it", async () => {
    const byRoute = new Map(Object.entries(OPERATIONS).map(([id, op]) => [`${op.method} ${op.path}`, id as OperationId]));
    const missing: string[] = [];
    for (const [method, path] of OPERATION_SCOPES) {
      const id = byRoute.get(`${method} /v1${path}`);
      if (id === undefined || !(id in CALLS)) missing.push(`${method} /v1${path}`);
      else expect(await requested(id)).toBe(`${method} /v1${path}`);
    }
    expect(missing).toEqual([]);
  });

  // With the first test, this covers the document: contract.ts lists each of its operations but those bin/sdk-contract.ts leaves out, with why.
  test("every operation of the generated contract has a client method that requests it", async () => {
    for (const [id, op] of Object.entries(OPERATIONS)) expect(await requested(id as OperationId)).toBe(`${op.method} ${op.path}`);
  });
});
