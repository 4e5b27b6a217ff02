import { scopeOf } from "../gateway/scopes.ts";
import { TemplateSend } from "../schemas/recipients.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstream } from "@nats-io/jetstream";
import { compileErrors, validate } from "@readme/openapi-parser";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020";
import { readFileSync } from "node:fs";
import { deliveryAttempts, notifications } from "../schemas/tables.ts";
import { BatchRequest, NotificationRequest } from "../schemas/request.ts";
import { createApp } from "../gateway/app.ts";
import { uuidv7 } from "../gateway/ids.ts";
import { openApiDocument } from "../gateway/openapi/document.ts";
import type { HttpMethod, OpenApiDocument, ResponseObject } from "../gateway/openapi/types.ts";
import { operationsOf } from "../gateway/routes/docs.ts";
import { ADMIN_KEYS, createAppFixture, send, VALID, type AppFixture } from "./support/gateway-fixture.ts";
import { ADMIN_KEY } from "./support/constants.ts";
import { silentLogger } from "./support/loggers.ts";
import { deadLetterAdmin } from "../processor/dead-letter-admin.ts";
import { appendAudit } from "../lib/db/audit.ts";
import { createDeliveryReports } from "../lib/db/delivery-reports.ts";
import { svixHeaders } from "./support/provider-signatures.ts";
import { signUnsubscribe } from "../lib/unsubscribe.ts";

const doc = openApiDocument();
const clone = () => structuredClone(doc) as unknown as Exclude<Parameters<typeof validate>[0], string>;

let f: AppFixture;
let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  f = await createAppFixture();
  // With a metrics page and admin keys, as `herald gateway` can run, so /metrics and /admin/v1 are registered too.
  await f.jsm.streams.add({ name: f.topo.streams.dlq, subjects: [f.topo.wildcards.dlq] });
  await f.jsm.streams.add({ name: f.topo.streams.events, subjects: [f.topo.wildcards.events] });
  const deadLetters = deadLetterAdmin(f.nc, { db: f.db.db, publisher: f.out, topo: f.topo, log: silentLogger });
  app = createApp({
    ...f.deps,
    metricsPage: { contentType: "text/plain; version=0.0.4", render: () => Promise.resolve("") },
    admin: { keys: ADMIN_KEYS, deadLetters, db: f.db.db },
  });
});
afterAll(async () => {
  await f.cleanup();
});

/** JSON Schema 2020-12 over the document's components; formats are annotations here, zod's patterns carry the checks. */
const SPEC_ID = "https://herald.invalid/openapi.json";
const ajv = new Ajv2020({ validateFormats: false, allErrors: true });
ajv.addVocabulary(["components"]);
ajv.addSchema({ $id: SPEC_ID, components: { schemas: doc.components.schemas } });
function schema(name: string): ValidateFunction {
  const validator = ajv.getSchema(`${SPEC_ID}#/components/schemas/${name}`);
  if (validator === undefined) throw new Error(`no schema ${name}`);
  return validator;
}
function expectValid(name: string, value: unknown): void {
  const v = schema(name);
  expect({ name, valid: v(value), errors: v.errors ?? null }).toEqual({ name, valid: true, errors: null });
}

describe("the document and the app's routes", () => {
  const inApp = () => [...new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`))].sort();
  const inSpec = () =>
    operationsOf(doc)
      .map(({ method, path }) => `${method.toUpperCase()} ${path}`)
      .sort();

  test("list exactly the same operations, paths in OpenAPI form", () => {
    expect(inSpec()).toEqual(inApp());
    expect(inApp()).toContain("POST /v1/notifications/{id}/cancel");
  });

  test("every /v1 operation needs an API key with the scope gateway/scopes.ts names (provider callbacks are signed instead), every /admin one an admin key, and the rest none", () => {
    const tenantAdmin = ["/admin/v1/audit", "/admin/v1/api-keys", "/admin/v1/api-keys/{id}", "/admin/v1/api-keys/{id}/rotate"];
    for (const { method, path, op } of operationsOf(doc)) {
      // The inbox stream takes an inbox token, never the API key.
      const unkeyed = path.startsWith("/v1/callbacks/") || path.startsWith("/v1/unsubscribe/") || path === "/v1/inbox/stream";
      const scope = scopeOf(method.toUpperCase(), path.slice("/v1".length).replace(/\{[^}]+\}/g, "x"));
      const admin: Record<string, string[]>[] =
        tenantAdmin.includes(path) || (path === "/admin/v1/tenants/{id}" && method === "get") ? [{ adminKey: [] }, { apiKey: ["admin"] }] : [{ adminKey: [] }];
      const needs: Record<string, string[]>[] = unkeyed
        ? []
        : path.startsWith("/v1/")
          ? [{ apiKey: [scope ?? "(none in gateway/scopes.ts)"] }]
          : path.startsWith("/admin/")
            ? admin
            : [];
      expect({ method, path, security: op.security }).toEqual({ method, path, security: needs });
    }
  });
});

describe("the document", () => {
  test("is valid OpenAPI 3.1 for @readme/openapi-parser, references included", async () => {
    const result = await validate(clone());
    if (!result.valid) throw new Error(compileErrors(result));
    expect(result.warnings).toEqual([]);
    expect(result.specification).toBe("OpenAPI");
    expect(doc.openapi).toStartWith("3.1.");
  });

  test("a broken copy fails the same validator, so the check above can fail", async () => {
    const broken = clone() as unknown as OpenApiDocument;
    const op = broken.paths["/v1/notifications/{id}"]?.get;
    if (op === undefined) throw new Error("missing operation");
    op.parameters = [];
    expect((await validate(broken as unknown as ReturnType<typeof clone>)).valid).toBe(false);
  });

  test("is built once, and only names a server when asked to", () => {
    expect(openApiDocument()).toBe(doc);
    expect(doc.servers).toBeUndefined();
    expect(openApiDocument({ serverUrl: "https://herald.example.com" }).servers).toEqual([{ url: "https://herald.example.com" }]);
  });

  test("every error answer's example is the problem body of its own status", () => {
    for (const [name, res] of Object.entries(doc.components.responses)) {
      const media = res.content?.["application/problem+json"];
      expectValid("Problem", media?.example);
      const usedAs = operationsOf(doc).flatMap(({ op }) =>
        Object.entries(op.responses)
          .filter(([, r]) => "$ref" in r && r.$ref.endsWith(`/${name}`))
          .map(([status]) => Number(status)),
      );
      expect(new Set(usedAs)).toEqual(new Set([(media?.example as { status: number } | undefined)?.status ?? 0]));
    }
  });

  test("409, 429 and 503 answers carry Retry-After, except the final 409s: cancel, a template name taken, an opt-out of a required category, deleting the current webhook secret", () => {
    for (const [name, res] of Object.entries(doc.components.responses)) {
      const status = (res.content?.["application/problem+json"]?.example as { status: number } | undefined)?.status ?? 0;
      const retryable = [409, 429, 503].includes(status) && !["NotCancellable", "TemplateExists", "CategoryRequired", "SecretCurrent"].includes(name);
      expect({ name, retryAfter: "Retry-After" in (res.headers ?? {}) }).toEqual({ name, retryAfter: retryable });
    }
  });

  test("the accepting routes list every answer the body pipeline can give", () => {
    for (const path of ["/v1/notifications", "/v1/notifications/batch"]) {
      const statuses = Object.keys(doc.paths[path]?.post?.responses ?? {}).sort();
      for (const s of ["400", "401", "409", "413", "415", "422", "429", "500", "503"]) expect(statuses).toContain(s);
    }
  });
});

/** The request bodies the README shows: its JSON blocks with a channel, and the `-d '…'` of its curl lines. */
function readmeBodies(): unknown[] {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const blocks = [...readme.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
  const curls = [...readme.matchAll(/-d '(\{[^']*\})'/g)].map((m) => m[1] ?? "");
  return [...blocks, ...curls].flatMap((text) => {
    try {
      const value = JSON.parse(text) as unknown;
      return typeof value === "object" && value !== null && "channel" in value ? [value] : [];
    } catch {
      return [];
    }
  });
}

describe("the request body schema of POST /v1/notifications (generated from zod)", () => {
  const examples = Object.values(doc.paths["/v1/notifications"]?.post?.requestBody?.content["application/json"]?.examples ?? {}).map((e) => e.value);

  test("accepts the README's example bodies, the document's own examples and one per channel", () => {
    const bodies = [...readmeBodies(), ...examples, ...Object.values(VALID)];
    expect(readmeBodies().length).toBeGreaterThanOrEqual(2);
    expect(examples.length).toBe(6);
    for (const body of bodies) {
      expectValid("CreateNotification", body);
      if ("template" in (body as object)) {
        expectValid("TemplateSend", body);
        expect(TemplateSend.safeParse(body).success).toBe(true);
      } else {
        expectValid("NotificationRequest", body);
        expect(NotificationRequest.safeParse(body).success).toBe(true);
      }
    }
  });

  const email = VALID.email;
  const bad: Record<string, unknown> = {
    "an unknown channel": { ...email, channel: "fax" },
    "a payload of another channel": { ...email, payload: { to: "+14155550100", body: "x" } },
    "an SMS number that is not E.164": { ...VALID.sms, payload: { to: "0415 555 0100", body: "x" } },
    "a missing userId": { channel: "email", payload: email.payload },
    "an unknown field": { ...email, colour: "red" },
    "an unknown payload field": { ...email, payload: { ...email.payload, cc: "b@example.com" } },
    "a time without offset": { ...email, scheduledFor: "2026-11-23T10:00:00" },
    "a non-string metadata value": { ...email, metadata: { n: 1 } },
    "an unknown priority": { ...email, priority: "asap" },
  };
  for (const [what, body] of Object.entries(bad)) {
    test(`rejects ${what}, as zod does`, () => {
      expect(schema("NotificationRequest")(body)).toBe(false);
      expect(NotificationRequest.safeParse(body).success).toBe(false);
    });
  }

  test("the batch schema accepts the document's example and refuses an empty batch, as zod does", () => {
    const example = doc.paths["/v1/notifications/batch"]?.post?.requestBody?.content["application/json"]?.example;
    expectValid("BatchRequest", example);
    expect(BatchRequest.safeParse(example).success).toBe(true);
    expect(schema("BatchRequest")({ notifications: [] })).toBe(false);
    expect(BatchRequest.safeParse({ notifications: [] }).success).toBe(false);
  });
});

/** The answer must be one the operation documents, with a body its schema accepts and the headers it names. */
async function expectDocumented(method: HttpMethod, path: string, res: Response): Promise<unknown> {
  const op = doc.paths[path]?.[method];
  const declared = op?.responses[String(res.status)];
  expect({ path, status: res.status, documented: declared !== undefined }).toEqual({ path, status: res.status, documented: true });
  const answer: ResponseObject =
    declared && "$ref" in declared ? (doc.components.responses[declared.$ref.split("/").at(-1) ?? ""] as ResponseObject) : (declared as ResponseObject);
  const type = res.headers.get("content-type")?.split(";")[0] ?? "";
  const media = answer.content?.[type];
  expect({ path, type, documented: media !== undefined }).toEqual({ path, type, documented: true });
  for (const name of Object.keys(answer.headers ?? {})) {
    if (name !== "Idempotency-Replayed") expect({ path, name, sent: res.headers.has(name) }).toEqual({ path, name, sent: true });
  }
  const ref = media?.schema.$ref;
  const body: unknown = type.endsWith("json") ? await res.json() : await res.text();
  if (typeof ref === "string") expectValid(ref.split("/").at(-1) ?? "", body);
  return body;
}

describe("what the routes answer matches the document", () => {
  test("accepting, reading, listing, attempts and cancelling", async () => {
    const accepted = (await expectDocumented("post", "/v1/notifications", await send(app, "/v1/notifications", { body: VALID.email }))) as { id: string };
    await expectDocumented("get", "/v1/notifications/{id}", await send(app, `/v1/notifications/${accepted.id}`));
    await expectDocumented(
      "post",
      "/v1/notifications/batch",
      await send(app, "/v1/notifications/batch", { body: { notifications: [VALID.sms, { channel: "fax" }] } }),
    );

    // A row as the processor writes it, with an attempt, so the Postgres path is checked too.
    const id = uuidv7();
    const createdAt = new Date();
    await f.db.db.insert(notifications).values({
      id,
      createdAt,
      tenantId: "acme",
      userId: "spec",
      channel: "push",
      type: "system",
      priority: "low",
      status: "sent",
      payload: {},
      attempts: 1,
      sentAt: new Date(),
      metadata: { a: "b" },
    });
    await f.db.db
      .insert(deliveryAttempts)
      .values({ notificationId: id, notificationCreatedAt: createdAt, attempt: 1, provider: "sink", outcome: "sent", latencyMs: 3, providerMessageId: "m-1" });
    await expectDocumented("get", "/v1/notifications/{id}", await send(app, `/v1/notifications/${id}`));
    const page = (await expectDocumented("get", "/v1/notifications", await send(app, "/v1/notifications?userId=spec&limit=1"))) as { data: unknown[] };
    expect(page.data).toHaveLength(1);
    const attempts = (await expectDocumented("get", "/v1/notifications/{id}/attempts", await send(app, `/v1/notifications/${id}/attempts`))) as {
      data: unknown[];
    };
    expect(attempts.data).toHaveLength(1);
    await expectDocumented("post", "/v1/notifications/{id}/cancel", await send(app, `/v1/notifications/${id}/cancel`, { method: "POST" }));
    await expectDocumented("post", "/v1/notifications/{id}/cancel", await send(app, `/v1/notifications/${accepted.id}/cancel`, { method: "POST" }));
  });

  test("the error answers", async () => {
    const post = "/v1/notifications";
    await expectDocumented("post", post, await send(app, post, { body: { ...VALID.email, channel: "fax" } }));
    await expectDocumented("post", post, await send(app, post, { body: VALID.email, key: "nope" }));
    await expectDocumented("post", post, await send(app, post, { body: "x=1", headers: { "content-type": "text/plain" } }));
    await expectDocumented("post", post, await send(app, post, { body: JSON.stringify({ pad: "x".repeat(300 * 1024) }) }));
    await expectDocumented("post", post, await send(app, post, { body: VALID.sms, headers: { "idempotency-key": "has space" } }));
    const key = { "idempotency-key": `spec-${uuidv7()}` };
    await expectDocumented("post", post, await send(app, post, { body: VALID.sms, headers: key }));
    await expectDocumented("post", post, await send(app, post, { body: VALID.push, headers: key }));
    await expectDocumented("get", "/v1/notifications", await send(app, "/v1/notifications?limit=1000"));
    await expectDocumented("get", "/v1/notifications/{id}", await send(app, `/v1/notifications/${uuidv7()}`));
    await expectDocumented("get", "/v1/notifications/{id}/attempts", await send(app, "/v1/notifications/not-a-uuid/attempts"));
    await expectDocumented("post", "/v1/notifications/{id}/cancel", await send(app, `/v1/notifications/${uuidv7()}/cancel`, { method: "POST" }));
  });

  test("the inbox: listing, marking one and all read, and their refusals", async () => {
    const id = uuidv7();
    await f.db.db.insert(notifications).values({
      id,
      tenantId: "acme",
      userId: "inbox-spec",
      channel: "in_app",
      type: "system",
      priority: "normal",
      status: "sent",
      payload: { title: "Hi", body: "There", data: { k: 1 } },
      sentAt: new Date(),
    });
    const page = (await expectDocumented("get", "/v1/inbox", await send(app, "/v1/inbox?userId=inbox-spec"))) as { data: unknown[] };
    expect(page.data).toHaveLength(1);
    await expectDocumented("post", "/v1/inbox/{id}/read", await send(app, `/v1/inbox/${id}/read`, { method: "POST" }));
    await expectDocumented("post", "/v1/inbox/read-all", await send(app, "/v1/inbox/read-all", { body: { userId: "inbox-spec" } }));
    await expectDocumented("get", "/v1/inbox", await send(app, "/v1/inbox"));
    await expectDocumented("post", "/v1/inbox/{id}/read", await send(app, `/v1/inbox/${uuidv7()}/read`, { method: "POST" }));
    await expectDocumented("post", "/v1/inbox/read-all", await send(app, "/v1/inbox/read-all", { body: { user: "x" } }));
  });

  test("the admin routes: listing, replaying, and their refusals", async () => {
    const admin = { key: ADMIN_KEY };
    // A failed row, one that cannot be replayed, and a piece of garbage in the stream, so each list has something to show.
    await f.db.db.insert(notifications).values([
      {
        id: uuidv7(),
        tenantId: "acme",
        userId: "spec",
        channel: "sms",
        type: "transactional",
        priority: "normal",
        status: "failed",
        payload: { to: "+14155550100", body: "Hi" },
        attempts: 3,
        lastError: "twilio 21211",
      },
      { id: uuidv7(), tenantId: "acme", userId: "spec", channel: "sms", type: "transactional", priority: "normal", status: "failed", payload: {}, attempts: 0 },
    ]);
    await jetstream(f.nc).publish(
      `${f.topo.namespace}.v1.dlq.invalid`,
      JSON.stringify({ v: 1, reason: "invalid", error: "not JSON", failedAt: new Date().toISOString(), subject: "x", raw: "garbage" }),
    );
    const page = (await expectDocumented("get", "/admin/v1/dead-letters", await send(app, "/admin/v1/dead-letters?limit=1", admin))) as { nextCursor: string };
    await expectDocumented("get", "/admin/v1/dead-letters", await send(app, `/admin/v1/dead-letters?cursor=${page.nextCursor}`, admin));
    expect(
      ((await expectDocumented("get", "/admin/v1/dead-letters/invalid", await send(app, "/admin/v1/dead-letters/invalid", admin))) as { data: unknown[] }).data,
    ).toHaveLength(1);
    await expectDocumented("post", "/admin/v1/dead-letters/replay", await send(app, "/admin/v1/dead-letters/replay", { ...admin, body: { dryRun: true } }));
    await expectDocumented("post", "/admin/v1/dead-letters/replay", await send(app, "/admin/v1/dead-letters/replay", { ...admin, body: { dryRun: "yes" } }));
    await expectDocumented("get", "/admin/v1/dead-letters", await send(app, "/admin/v1/dead-letters"));
    await expectDocumented("get", "/admin/v1/dead-letters", await send(app, "/admin/v1/dead-letters", { key: null }));
    await expectDocumented("get", "/admin/v1/dead-letters", await send(app, "/admin/v1/dead-letters?cursor=nope", admin));
    await expectDocumented("get", "/admin/v1/dead-letters/invalid", await send(app, "/admin/v1/dead-letters/invalid?cursor=0", admin));
    await expectDocumented(
      "post",
      "/admin/v1/dead-letters/replay",
      await send(app, "/admin/v1/dead-letters/replay", { ...admin, body: { since: "yesterday" } }),
    );
  });

  test("the audit log: pages and their refusals", async () => {
    const admin = { key: ADMIN_KEY };
    for (const target of ["k-1", "k-2"]) {
      await appendAudit(f.db.db, {
        actor: "operator:ops",
        tenantId: "acme",
        action: "api_key.created",
        target,
        clientAddress: "127.0.0.1",
        details: { scopes: ["send"] },
      });
    }
    await appendAudit(f.db.db, { actor: "cli", tenantId: null, action: "dead_letters.replayed", target: null, clientAddress: null });
    const page = (await expectDocumented("get", "/admin/v1/audit", await send(app, "/admin/v1/audit?limit=2", admin))) as { nextCursor: string };
    await expectDocumented("get", "/admin/v1/audit", await send(app, `/admin/v1/audit?action=api_key.&cursor=${page.nextCursor}`, admin));
    await expectDocumented("get", "/admin/v1/audit", await send(app, "/admin/v1/audit?since=yesterday", admin));
    await expectDocumented("get", "/admin/v1/audit", await send(app, "/admin/v1/audit", { key: null }));
  });

  test("recipients, devices, preferences and categories, and their refusals", async () => {
    const user = `spec-${uuidv7()}`;
    const at = (method: HttpMethod, path: string, body?: unknown) => send(app, path, { method: method.toUpperCase(), ...(body === undefined ? {} : { body }) });
    const check = async (method: HttpMethod, path: string, url: string, body?: unknown) => expectDocumented(method, path, await at(method, url, body));
    await check("put", "/v1/categories/{category}", "/v1/categories/security", { required: true });
    await check("put", "/v1/categories/{category}", "/v1/categories/security", { required: true, defaults: { sms: false } });
    await check("put", "/v1/categories/{category}", "/v1/categories/security", { required: "yes" });
    await check("get", "/v1/categories/{category}", "/v1/categories/security");
    await check("get", "/v1/categories/{category}", "/v1/categories/nothing");
    await check("get", "/v1/categories", "/v1/categories");
    await check("put", "/v1/users/{userId}", `/v1/users/${user}`, { email: "ada@example.com", quietHours: { start: "22:00", end: "07:00" } });
    await check("put", "/v1/users/{userId}", `/v1/users/${user}`, { email: "ada@example.com" });
    await check("put", "/v1/users/{userId}", `/v1/users/${user}`, { phone: "0415" });
    await check("patch", "/v1/users/{userId}", `/v1/users/${user}`, { locale: "de" });
    await check("patch", "/v1/users/{userId}", `/v1/users/${uuidv7()}`, { locale: "de" });
    await check("post", "/v1/users/{userId}/devices", `/v1/users/${user}/devices`, { token: "spec-token", platform: "web" });
    await check("get", "/v1/users/{userId}", `/v1/users/${user}`);
    await check("get", "/v1/users/{userId}", `/v1/users/${uuidv7()}`);
    await check("delete", "/v1/users/{userId}/devices/{token}", `/v1/users/${user}/devices/nope`);
    await check("put", "/v1/users/{userId}/preferences", `/v1/users/${user}/preferences`, { preferences: [{ category: "news", enabled: false }] });
    await check("put", "/v1/users/{userId}/preferences", `/v1/users/${user}/preferences`, { preferences: [{ category: "security", enabled: false }] });
    await check("get", "/v1/users/{userId}/preferences", `/v1/users/${user}/preferences`);
    await check("get", "/v1/users/{userId}/export", `/v1/users/${user}/export`);
    await check("get", "/v1/users/{userId}/export", `/v1/users/${user}/export?cursor=nope`);
    for (const [method, path, url] of [["delete", "/v1/users/{userId}/devices/{token}", `/v1/users/${user}/devices/spec-token`]] as const) {
      const res = await at(method, url);
      expect({ path, status: res.status, documented: doc.paths[path]?.[method]?.responses["204"] !== undefined }).toEqual({
        path,
        status: 204,
        documented: true,
      });
    }
    await check("delete", "/v1/users/{userId}", `/v1/users/${user}`);
  });

  test("webhook secrets: off, listed, rotated, deleted, and their refusals", async () => {
    const list = "/v1/webhook-secrets";
    const rotate = "/v1/webhook-secrets/rotate";
    const byId = "/v1/webhook-secrets/{secretId}";
    await expectDocumented("get", list, await send(app, list));
    const on = createApp({ ...f.deps, webhookSecrets: { db: f.db.db, tokenSecret: "openapi test token secret, thirty-two characters or more" } });
    const first = (await expectDocumented("post", rotate, await send(on, rotate, { method: "POST" }))) as { id: string };
    await expectDocumented("post", rotate, await send(on, rotate, { body: { graceSeconds: 60 } }));
    await expectDocumented("post", rotate, await send(on, rotate, { body: { graceSeconds: -1 } }));
    await expectDocumented("get", list, await send(on, list));
    const current = ((await (await send(on, list)).json()) as { data: { id: string; current: boolean }[] }).data.find((s) => s.current);
    await expectDocumented("delete", byId, await send(on, `/v1/webhook-secrets/${current?.id}`, { method: "DELETE" }));
    for (let i = 0; i < 4; i++) await send(on, rotate, { body: { graceSeconds: 60 } });
    await expectDocumented("post", rotate, await send(on, rotate, { body: { graceSeconds: 60 } }));
    await expectDocumented("delete", byId, await send(on, `/v1/webhook-secrets/${uuidv7()}`, { method: "DELETE" }));
    const res = await send(on, `/v1/webhook-secrets/${first.id}`, { method: "DELETE" });
    expect({ path: byId, status: res.status, documented: doc.paths[byId]?.delete?.responses["204"] !== undefined }).toEqual({
      path: byId,
      status: 204,
      documented: true,
    });
  });

  test("one-click unsubscribe: off, the page, the POST, and forged and expired links", async () => {
    const secret = "openapi test token secret, thirty-two characters or more";
    const on = createApp({ ...f.deps, recipients: { db: f.db.db, tokenSecret: secret } });
    const claims = { tenantId: "acme", userId: "spec", category: "news", channel: "email" as const, exp: Math.floor(Date.now() / 1000) + 60 };
    const url = `/v1/unsubscribe/${await signUnsubscribe(secret, claims)}`;
    const post = (to: typeof app, path: string) =>
      send(to, path, { method: "POST", key: null, body: "List-Unsubscribe=One-Click", headers: { "content-type": "application/x-www-form-urlencoded" } });
    await expectDocumented("post", "/v1/unsubscribe/{token}", await post(app, url));
    await expectDocumented("get", "/v1/unsubscribe/{token}", await send(on, url, { key: null }));
    await expectDocumented("post", "/v1/unsubscribe/{token}", await post(on, url));
    await expectDocumented("post", "/v1/unsubscribe/{token}", await post(on, `${url}x`));
    const expired = await signUnsubscribe(secret, { ...claims, exp: 1 });
    await expectDocumented("get", "/v1/unsubscribe/{token}", await send(on, `/v1/unsubscribe/${expired}`, { key: null }));
  });

  test("the provider callbacks: off, unsigned, and signed", async () => {
    const post = (to: { request: typeof app.request }, path: string, body: string, headers: Record<string, string> = {}) =>
      Promise.resolve(to.request(path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body }));
    await expectDocumented("post", "/v1/callbacks/twilio", await post(app, "/v1/callbacks/twilio", "MessageSid=SM1"));
    const secret = `whsec_${btoa("openapi test signing secret")}`;
    const signed = createApp({ ...f.deps, callbacks: { reports: createDeliveryReports(f.db.sql), resend: { secret } } });
    const body = JSON.stringify({ type: "email.delivered", data: { email_id: "not-sent-by-herald" } });
    await expectDocumented("post", "/v1/callbacks/resend", await post(signed, "/v1/callbacks/resend", body, svixHeaders(secret, body)));
    await expectDocumented("post", "/v1/callbacks/resend", await post(signed, "/v1/callbacks/resend", body));
  });

  test("the probes, the metrics page and this document's own routes", async () => {
    for (const path of ["/health/live", "/health/startup", "/health/startup", "/health/ready", "/metrics", "/openapi.json", "/docs"])
      await expectDocumented("get", path, await send(app, path, { key: null }));
  });
});
