import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApp } from "../gateway/app.ts";
import { openApiDocument } from "../gateway/openapi/document.ts";
import { templateSendDeps } from "../gateway/runtime/template-deps.ts";
import { claim } from "../lib/db/notification-repository.ts";
import { createTemplateCache } from "../lib/templates/cache.ts";
import { createTemplateEngine } from "../lib/templates/render.ts";
import { OTHER_KEY, TENANT_KEY } from "./support/constants.ts";
import { createApiKey } from "../lib/db/api-keys.ts";
import { enqueueDeliveries } from "../lib/db/webhook-deliveries.ts";
import { openTenantDirectory } from "../lib/tenancy.ts";
import { API_KEY_SCOPES, type ApiKeyScope } from "../schemas/enums.ts";
import { createAppFixture, send, type AppFixture } from "./support/gateway-fixture.ts";

// A walk over every route of the OpenAPI document that takes an id: tenant `beta` calls
// each with tenant `acme`'s ids. A read, an action on one resource, or a removal of one
// answers 404; a route that creates or replaces by name (PUT, DELETE of a user: the
// caller's own namespace) may answer otherwise, but acme's resources read the same after
// the walk. A documented route the walk does not classify fails it, so a new id route
// must say which it is.

const HTTP = ["get", "put", "post", "patch", "delete"] as const;

/** Routes a tenant never reaches with its key: admin (operators' keys), provider callbacks and signed links (their own signatures). */
const NOT_TENANT_ROUTES = [/^\/admin\//, /^\/v1\/callbacks\//, /^\/v1\/unsubscribe\//, /^\/docs\//];

/** Routes where beta acts in its own namespace under acme's name: beta's own user or template, never acme's. */
const OWN_NAMESPACE = new Set([
  "put /v1/users/{userId}",
  "delete /v1/users/{userId}",
  "put /v1/templates/{name}",
  "put /v1/categories/{category}",
  "get /v1/users/{userId}/preferences",
  "put /v1/users/{userId}/preferences",
  "get /v1/users/{userId}/export",
]);

let f: AppFixture;
const ids: Record<string, string> = {};
let before: Record<string, unknown> = {};

/** What acme can read of its own resources: unchanged by anything beta does. */
async function acmeView(): Promise<Record<string, unknown>> {
  const read = async (path: string) => {
    const res = await send(f.app, path, { key: TENANT_KEY });
    return { status: res.status, body: await res.json() };
  };
  return {
    notification: await read(`/v1/notifications/${ids.id}`),
    user: await read(`/v1/users/${ids.userId}`),
    preferences: await read(`/v1/users/${ids.userId}/preferences`),
    template: await read(`/v1/templates/${ids.name}`),
    category: await read(`/v1/categories/${ids.category}`),
    inbox: await read(`/v1/inbox?userId=${ids.userId}`),
    webhookSecrets: await read("/v1/webhook-secrets"),
    webhookEndpoint: await read(`/v1/webhook-endpoints/${ids.endpointId}`),
    webhookEndpointSecret: await read(`/v1/webhook-endpoints/${ids.endpointId}/secret`),
    webhookDeliveries: await read(`/v1/webhook-endpoints/${ids.endpointId}/deliveries`),
  };
}

beforeAll(async () => {
  f = await createAppFixture();
  // Every dependency a gateway has, templates included.
  f.app = createApp({
    ...f.deps,
    templates: { db: f.db.db, engine: createTemplateEngine() },
    templateSends: templateSendDeps(f.db.sql, createTemplateCache(f.db.db)),
    webhookSecrets: { db: f.db.db, tokenSecret: "tenant isolation test token secret, 32+ characters" },
    webhookEndpoints: { db: f.db.db, tokenSecret: "tenant isolation test token secret, 32+ characters", allowPrivate: false },
  });
  // acme's resources, one of each kind an id names.
  ids.userId = "acme-user";
  ids.token = "acme-device-token";
  ids.name = "acme-template";
  ids.category = "acme-category";
  const acme = (method: string, path: string, body?: unknown) => send(f.app, path, { method, key: TENANT_KEY, ...(body === undefined ? {} : { body }) });
  expect((await acme("PUT", `/v1/users/${ids.userId}`, { email: "acme@example.com" })).status).toBe(201);
  expect((await acme("POST", `/v1/users/${ids.userId}/devices`, { token: ids.token, platform: "android" })).status).toBe(201);
  expect((await acme("PUT", `/v1/categories/${ids.category}`, { required: false })).status).toBe(201);
  expect((await acme("PUT", `/v1/users/${ids.userId}/preferences`, { preferences: [{ category: ids.category, enabled: false }] })).status).toBe(200);
  const content = { locales: { default: { in_app: { title: "Hi", body: "Hello" } } } };
  expect((await acme("POST", "/v1/templates", { name: ids.name, category: ids.category, content })).status).toBe(201);
  expect((await acme("POST", `/v1/templates/${ids.name}/publish`)).status).toBe(200);
  // A rotated-out webhook secret: the one acme itself could delete.
  ids.secretId = ((await (await acme("POST", "/v1/webhook-secrets/rotate")).json()) as { id: string }).id;
  expect((await acme("POST", "/v1/webhook-secrets/rotate")).status).toBe(201);
  // A status-webhook endpoint with one failed delivery, as the processor leaves it.
  ids.endpointId = ((await (await acme("POST", "/v1/webhook-endpoints", { url: "https://hooks.example.com/acme" })).json()) as { id: string }).id;
  await enqueueDeliveries(f.db.db, [{ endpointId: ids.endpointId, tenantId: "acme", userId: ids.userId, eventId: "acme-event", eventType: "sent", event: {} }]);
  ids.deliveryId =
    ((await (await acme("GET", `/v1/webhook-endpoints/${ids.endpointId}/deliveries`)).json()) as { data: Array<{ id: string }> }).data[0]?.id ?? "";
  const accepted = await acme("POST", "/v1/notifications", { userId: ids.userId, channel: "in_app", payload: { title: "Hi", body: "Hello" } });
  expect(accepted.status).toBe(202);
  ids.id = ((await accepted.json()) as { id: string }).id;
  // Stored as the processor would, so reads find the row in Postgres.
  await claim(f.db.sql, [(await f.message(await f.count())).envelope], Date.now());
  before = await acmeView();
});

let closeDirectory: (() => Promise<void>) | undefined;

afterAll(async () => {
  await closeDirectory?.();
  await f.cleanup();
});

/** A path of the document with acme's ids in its parameters. */
function filled(path: string): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = ids[name];
    if (value === undefined) throw new Error(`no acme id for {${name}} in ${path}`);
    return encodeURIComponent(value);
  });
}

/** A body good enough to get past validation, so the answer is about whose resource it is. */
function bodyFor(method: string, path: string): unknown {
  if (method === "get" || method === "delete") return undefined;
  if (path.endsWith("/preview")) return { data: {} };
  if (path.endsWith("/devices")) return { token: "beta-token", platform: "android" };
  if (path.endsWith("/preferences")) return { preferences: [] };
  if (path === "/v1/users/{userId}") return { email: "beta@example.com" };
  if (path === "/v1/templates/{name}") return { category: "beta", content: { locales: { default: { in_app: { title: "B", body: "B" } } } } };
  return {};
}

describe("tenant isolation, walked from the OpenAPI document", () => {
  const doc = openApiDocument();
  const routes = Object.entries(doc.paths).flatMap(([path, item]) =>
    path.includes("{") && !NOT_TENANT_ROUTES.some((r) => r.test(path)) ? HTTP.filter((m) => item[m] !== undefined).map((m) => ({ method: m, path })) : [],
  );

  test("finds the id routes to walk", () => {
    expect(routes.length).toBeGreaterThanOrEqual(12);
  });

  test("another tenant gets 404 for every read, action or removal of acme's resources, and acme's resources read the same afterwards", async () => {
    const seen: string[] = [];
    // Beta's own creations last: once beta has a user or template of that name, acting on it is beta's business.
    const ordered = [...routes.filter((r) => !OWN_NAMESPACE.has(`${r.method} ${r.path}`)), ...routes.filter((r) => OWN_NAMESPACE.has(`${r.method} ${r.path}`))];
    for (const { method, path } of ordered) {
      const body = bodyFor(method, path);
      const res = await send(f.app, filled(path), { method: method.toUpperCase(), key: OTHER_KEY, ...(body === undefined ? {} : { body }) });
      const route = `${method} ${path}`;
      seen.push(`${route} → ${res.status}`);
      if (OWN_NAMESPACE.has(route)) {
        // Beta's own (empty) namespace: never a trace of acme's data.
        const text = await res.text();
        expect({ route, ok: res.status < 500, leaks: [ids.id, "acme@example.com", ids.token].filter((x) => x !== undefined && text.includes(x)) }).toEqual({
          route,
          ok: true,
          leaks: [],
        });
      } else expect({ route, status: res.status }).toEqual({ route, status: 404 });
    }
    expect(await acmeView()).toEqual(before);
    expect(seen.length).toBe(routes.length);
  });
});

describe("scopes, walked from the OpenAPI document", () => {
  test("every /v1 operation answers 403 to an acme key holding every scope but the one it names, and changes nothing", async () => {
    const directory = await openTenantDirectory({
      db: f.db.db,
      listen: f.db.listen,
      bootstrap: new Map([[TENANT_KEY, "acme"]]),
      rateLimit: () => null,
      dailyCaps: {},
      retentionDays: 90,
    });
    closeDirectory = directory.close;
    const app = createApp({ ...f.deps, tenants: directory.directory, templates: { db: f.db.db, engine: createTemplateEngine() } });
    const by = { actor: "test", clientAddress: null };
    const lacking = new Map<ApiKeyScope, string>();
    for (const scope of API_KEY_SCOPES) {
      const issued = await createApiKey(f.db.db, { tenantId: "acme", scopes: API_KEY_SCOPES.filter((s) => s !== scope) }, by);
      lacking.set(scope, issued.key);
    }
    const doc = openApiDocument();
    const walked: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of HTTP) {
        const scope = item[method]?.security?.[0]?.apiKey?.[0] as ApiKeyScope | undefined;
        if (scope === undefined || !path.startsWith("/v1/")) continue;
        const key = lacking.get(scope);
        if (key === undefined) throw new Error(`no key lacking ${scope}`);
        const body = bodyFor(method, path);
        const res = await send(app, filled(path), { method: method.toUpperCase(), key, ...(body === undefined ? {} : { body }) });
        expect({ route: `${method} ${path}`, scope, status: res.status }).toEqual({ route: `${method} ${path}`, scope, status: 403 });
        walked.push(`${method} ${path}`);
      }
    }
    expect(walked.length).toBeGreaterThanOrEqual(25);
    expect(await acmeView()).toEqual(before);
  });
});
