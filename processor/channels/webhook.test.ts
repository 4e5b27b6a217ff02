import { afterAll, describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { TEST_WEBHOOK_SECRET } from "../../test/support/constants.ts";
import { startWebhookReceiver } from "../../test/support/webhook-receiver.ts";
import { PermanentError, RetryableError } from "./errors.ts";
import { parseRetryAfter } from "./http-response.ts";
import { hostname } from "node:os";
import { readFileSync } from "node:fs";
import { connectOrder, inspectHost, isPrivateHost, rememberVerdicts } from "./private-address.ts";
import type { OutboundNotification } from "./types.ts";
import { createWebhookSender, pinnedRoute } from "./webhook.ts";
import { signWebhook, webhookKey } from "./webhook-signature.ts";
import { cachedSigningKeys } from "./webhook-keys.ts";

const receiver = startWebhookReceiver({
  "/ok": () => ({ status: 200 }),
  "/redirect": () => ({ status: 302, headers: { location: "http://169.254.169.254/" } }),
  "/slow": () => ({ status: 200, holdMs: 500 }),
  "/busy": () => ({ status: 429, headers: { "retry-after": "7" } }),
  "/bad": () => ({ status: 400 }),
});
afterAll(() => receiver.stop());

const sender = createWebhookSender({ secret: TEST_WEBHOOK_SECRET, timeoutMs: 150, allowPrivate: true });
const ctx = { attempt: 1, signal: new AbortController().signal };

function note(payload: Record<string, unknown>): OutboundNotification {
  return { id: crypto.randomUUID(), tenantId: "acme", userId: "u", channel: "webhook", type: "transactional", payload, metadata: null, correlationId: null };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => new Error("expected a failure"),
    (err: unknown) => err,
  );
}

describe("webhook sender", () => {
  test("signs so that the standardwebhooks library verifies it", async () => {
    const n = note({ url: receiver.url("/ok"), body: { hello: "world" } });
    await sender.send(n, ctx);
    expect(receiver.hits(n.id)).toBe(1);
    expect(receiver.rejected()).toBe(0);
    expect(receiver.lastHeaders(n.id)?.["webhook-id"]).toBe(n.id);
  });

  test("matches the library's own signature byte for byte", () => {
    const at = new Date(1_700_000_000_000);
    const mine = signWebhook(webhookKey(TEST_WEBHOOK_SECRET), "msg_1", 1_700_000_000, '{"a":1}');
    expect(mine).toBe(new Webhook(TEST_WEBHOOK_SECRET).sign("msg_1", at, '{"a":1}'));
  });

  test("user headers cannot override webhook-* or content-type", async () => {
    const n = note({
      url: receiver.url("/ok"),
      body: {},
      headers: { "Webhook-Id": "spoofed", "webhook-signature": "v1,forged", "Content-Type": "text/plain", "x-tenant-ref": "r-1" },
    });
    await sender.send(n, ctx);
    const h = receiver.lastHeaders(n.id);
    expect(h?.["webhook-id"]).toBe(n.id);
    expect(h?.["content-type"]).toBe("application/json");
    expect(h?.["x-tenant-ref"]).toBe("r-1");
    expect(receiver.rejected()).toBe(0);
  });

  test("a 3xx is permanent: redirects are not followed", async () => {
    expect(await failure(sender.send(note({ url: receiver.url("/redirect"), body: {} }), ctx))).toBeInstanceOf(PermanentError);
  });

  test("other 4xx are permanent; 429 is retryable with Retry-After", async () => {
    expect(await failure(sender.send(note({ url: receiver.url("/bad"), body: {} }), ctx))).toBeInstanceOf(PermanentError);
    const busy = await failure(sender.send(note({ url: receiver.url("/busy"), body: {} }), ctx));
    expect(busy).toBeInstanceOf(RetryableError);
    expect((busy as RetryableError).retryAfterMs).toBe(7000);
  });

  test("a timeout is retryable", async () => {
    const err = await failure(sender.send(note({ url: receiver.url("/slow"), body: {} }), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toContain("timed out");
  });

  test("a refused connection is retryable", async () => {
    expect(await failure(sender.send(note({ url: "http://127.0.0.1:1/x", body: {} }), ctx))).toBeInstanceOf(RetryableError);
  });

  test("refuses private and loopback addresses unless allowed", async () => {
    const strict = createWebhookSender({ secret: TEST_WEBHOOK_SECRET, timeoutMs: 500, allowPrivate: false });
    const n = note({ url: receiver.url("/ok"), body: {} });
    expect(await failure(strict.send(n, ctx))).toBeInstanceOf(PermanentError);
    expect(receiver.hits(n.id)).toBe(0);
    expect(await failure(strict.send(note({ url: "http://localhost:9/x", body: {} }), ctx))).toBeInstanceOf(PermanentError);
  });

  test("refuses a name that resolves to a private address: the machine's own name, through the system resolver", async () => {
    const strict = createWebhookSender({ secret: TEST_WEBHOOK_SECRET, timeoutMs: 500, allowPrivate: false });
    const own = hostname();
    // This machine's /etc/hosts maps its name to 127.0.0.1; say so if another one does not.
    expect((await inspectHost(own)).privateAddress).not.toBeNull();
    const n = note({ url: receiver.url("/ok").replace("127.0.0.1", own), body: {} });
    const err = await failure(strict.send(n, ctx));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toContain("resolves to a private address");
    expect(receiver.hits(n.id)).toBe(0);
  });

  test("refuses a name with any private address among public ones; a lookup that fails is retryable", async () => {
    const answers: Record<string, string[]> = {
      "mixed.example": ["93.184.215.14", "10.0.0.7"],
      "v6.example": ["2606:4700::1111", "fd12::1"],
      "public.example": ["93.184.215.14"],
    };
    const resolve = async (name: string) => {
      const found = answers[name];
      if (found === undefined) throw Object.assign(new Error(`queryA ENOTFOUND ${name}`), { code: "ENOTFOUND" });
      return found;
    };
    expect((await inspectHost("mixed.example", resolve)).privateAddress).toBe("10.0.0.7");
    expect((await inspectHost("v6.example", resolve)).privateAddress).toBe("fd12::1");
    expect((await inspectHost("public.example", resolve)).privateAddress).toBeNull();
    expect((await inspectHost("[::1]", resolve)).privateAddress).toBe("::1");
    const strict = createWebhookSender({ secret: TEST_WEBHOOK_SECRET, timeoutMs: 500, allowPrivate: false, resolve });
    expect(await failure(strict.send(note({ url: "https://mixed.example/hook", body: {} }), ctx))).toBeInstanceOf(PermanentError);
    expect(await failure(strict.send(note({ url: "https://gone.example/hook", body: {} }), ctx))).toBeInstanceOf(RetryableError);
  });

  test("remembers a host's verdict for the TTL, so a burst of webhooks costs one lookup; failures are not remembered", async () => {
    let lookups = 0;
    let at = 0;
    let failing = true;
    const resolve = async (name: string) => {
      lookups++;
      if (name === "flaky.example" && failing) throw new Error("EAI_AGAIN");
      return ["93.184.215.14"];
    };
    const verdicts = rememberVerdicts(resolve, { ttlMs: 1000, max: 2, now: () => at });
    for (let i = 0; i < 5; i++) expect(await verdicts.check("hooks.example")).toEqual({ privateAddress: null, addresses: ["93.184.215.14"] });
    expect(lookups).toBe(1);
    at += 1001;
    await verdicts.check("hooks.example");
    expect(lookups).toBe(2);
    await failure(verdicts.check("flaky.example"));
    failing = false;
    expect((await verdicts.check("flaky.example")).privateAddress).toBeNull();
    expect(lookups).toBe(4);
    // Bounded: a third host pushes out the oldest.
    await verdicts.check("third.example");
    await verdicts.check("hooks.example");
    expect(lookups).toBe(6);
  });

  test("connects to the address it checked, keeping the name for Host and TLS, so a later DNS answer cannot move the call", async () => {
    const calls: { url: string; host: string | undefined; tls: unknown }[] = [];
    const spy = (async (input: URL | RequestInfo, init?: RequestInit & { tls?: unknown }) => {
      calls.push({ url: String(input), host: (init?.headers as Record<string, string> | undefined)?.host, tls: init?.tls });
      return new Response(null, { status: 204 });
    }) as typeof fetch;
    let answer = ["2606:4700::1111", "93.184.215.14"];
    const strict = createWebhookSender({ secret: TEST_WEBHOOK_SECRET, timeoutMs: 500, allowPrivate: false, fetch: spy, resolve: async () => answer });
    await strict.send(note({ url: "https://hooks.example/in?x=1", body: {}, headers: { Host: "metadata.internal" } }), ctx);
    // Rebound to the metadata address after the check: the remembered, checked address is still the one called.
    answer = ["169.254.169.254"];
    await strict.send(note({ url: "https://hooks.example/in?x=1", body: {} }), ctx);
    for (const call of calls) expect(call).toEqual({ url: "https://93.184.215.14/in?x=1", host: "hooks.example", tls: { serverName: "hooks.example" } });
    expect(pinnedRoute(new URL("http://hooks.example:8080/a"), "2606:4700::1111")).toEqual({
      url: new URL("http://[2606:4700::1111]:8080/a"),
      host: "hooks.example:8080",
    });
    expect(connectOrder(["2606:4700::1111", "93.184.215.14", "2606:4700::2222", "1.1.1.1"])).toEqual([
      "93.184.215.14",
      "1.1.1.1",
      "2606:4700::1111",
      "2606:4700::2222",
    ]);
  });

  test("a pinned https call reaches the named receiver over verified TLS, past a refused address, and fails on a certificate for another name", async () => {
    const tlsDir = `${import.meta.dir}/../../test/support/tls`;
    const seen: { host: string | null; verified: boolean }[] = [];
    const verifier = new Webhook(TEST_WEBHOOK_SECRET);
    const server = Bun.serve({
      port: 0,
      // IPv6 loopback only: the name's IPv4 address, tried first, refuses, and the call goes on to this one.
      hostname: "::1",
      tls: { cert: readFileSync(`${tlsDir}/hooks.test.crt`, "utf8"), key: readFileSync(`${tlsDir}/hooks.test.key`, "utf8") },
      async fetch(req) {
        const body = await req.text();
        let verified = true;
        try {
          verifier.verify(body, Object.fromEntries(req.headers));
        } catch {
          verified = false;
        }
        seen.push({ host: req.headers.get("host"), verified });
        return new Response(null, { status: 204 });
      },
    });
    try {
      // Both names resolve to the test receiver; private addresses are allowed here so loopback can stand in for the internet.
      const pinned = createWebhookSender({
        secret: TEST_WEBHOOK_SECRET,
        timeoutMs: 2_000,
        allowPrivate: true,
        ca: readFileSync(`${tlsDir}/ca.crt`, "utf8"),
        resolve: async () => ["::1", "127.0.0.1"],
      });
      await pinned.send(note({ url: `https://hooks.test:${server.port}/in`, body: { a: 1 } }), ctx);
      expect(seen).toEqual([{ host: `hooks.test:${server.port}`, verified: true }]);
      const err = await failure(pinned.send(note({ url: `https://other.test:${server.port}/in`, body: {} }), ctx));
      expect(err).toBeInstanceOf(RetryableError);
      expect(seen.length).toBe(1);
    } finally {
      await server.stop(true);
    }
  });

  test("signs a tenant's webhook with each of its secrets, one space-separated v1 signature each, so a receiver holding either verifies", async () => {
    const current = `whsec_${btoa("the tenant's current secret")}`;
    const previous = `whsec_${btoa("the tenant's previous secret")}`;
    const seen: Array<{ body: string; headers: Record<string, string> }> = [];
    const spy = (async (_input: URL | RequestInfo, init?: RequestInit) => {
      seen.push({ body: String(init?.body), headers: init?.headers as Record<string, string> });
      return new Response(null, { status: 204 });
    }) as typeof fetch;
    const tenantKeys = cachedSigningKeys({
      load: async (tenants) =>
        new Map(
          tenants.filter((t) => t === "acme").map((t) => [t, { secrets: [current, previous].map((secret) => ({ secret, expiresAt: null })), unreadable: 0 }]),
        ),
    });
    const signing = createWebhookSender({ secret: TEST_WEBHOOK_SECRET, timeoutMs: 500, allowPrivate: true, fetch: spy, tenantKeys });
    await signing.prepare?.([note({})]);
    await signing.send(note({ url: "http://127.0.0.1:9/in", body: { a: 1 } }), ctx);
    await signing.send({ ...note({ url: "http://127.0.0.1:9/in", body: { b: 2 } }), tenantId: "beta" }, ctx);
    const [mine, theirs] = seen;
    expect(mine?.headers["webhook-signature"]).toMatch(/^v1,\S+ v1,\S+$/);
    for (const secret of [current, previous]) expect(() => new Webhook(secret).verify(mine?.body ?? "", mine?.headers ?? {})).not.toThrow();
    expect(() => new Webhook(TEST_WEBHOOK_SECRET).verify(mine?.body ?? "", mine?.headers ?? {})).toThrow();
    // A tenant without secrets of its own: the deployment's.
    expect(theirs?.headers["webhook-signature"]).toMatch(/^v1,\S+$/);
    expect(() => new Webhook(TEST_WEBHOOK_SECRET).verify(theirs?.body ?? "", theirs?.headers ?? {})).not.toThrow();
  });

  test("an invalid payload is permanent", async () => {
    expect(await failure(sender.send(note({ body: {} }), ctx))).toBeInstanceOf(PermanentError);
  });
});

describe("isPrivateHost", () => {
  test("flags loopback, private, link-local and mapped literals", () => {
    const hosts = [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "0.0.0.0",
      "[::1]",
      "[fd00::1]",
      "[fe80::1]",
      "localhost",
      "a.localhost",
    ];
    for (const h of hosts) expect(isPrivateHost(h)).toBe(true);
    expect(isPrivateHost(new URL("http://2130706433/").hostname)).toBe(true);
    expect(isPrivateHost(new URL("http://[::ffff:127.0.0.1]/").hostname)).toBe(true);
  });

  test("lets public hosts through", () => {
    for (const h of ["example.com", "8.8.8.8", "172.32.0.1", "[2606:4700::1111]"]) expect(isPrivateHost(h)).toBe(false);
  });
});

test("parseRetryAfter reads seconds and dates, clamped", () => {
  const now = Date.parse("2030-01-01T00:00:00Z");
  expect(parseRetryAfter("3", now)).toBe(3000);
  expect(parseRetryAfter("Tue, 01 Jan 2030 00:00:10 GMT", now)).toBe(10_000);
  expect(parseRetryAfter("999999", now)).toBe(3_600_000);
  expect(parseRetryAfter("soon", now)).toBeUndefined();
  expect(parseRetryAfter(null, now)).toBeUndefined();
});
