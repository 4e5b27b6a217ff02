import { describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { generateWebhookSecret } from "../../lib/db/webhook-secrets.ts";
import { endpointSealingKey } from "../../lib/db/webhook-endpoints.ts";
import type { ClaimedDelivery } from "../../lib/db/webhook-deliveries.ts";
import { seal } from "../../lib/sealing.ts";
import { rememberVerdicts } from "../channels/private-address.ts";
import { postDelivery, type PostDeps } from "./post.ts";

const TOKEN_SECRET = "p".repeat(32);
const key = await endpointSealingKey(TOKEN_SECRET);
const current = generateWebhookSecret();
const previous = generateWebhookSecret();
const endpointId = "0190a0a0-0000-7000-8000-0000000000aa";
const context = `acme\n${endpointId}`;

async function delivery(url: string, withPrevious = false): Promise<ClaimedDelivery> {
  return {
    id: "0190a0a0-0000-7000-8000-0000000000bb",
    endpointId,
    tenantId: "acme",
    event: { v: 1, type: "sent", eventId: "n:sent:1" },
    attempt: 1,
    roundAttempt: 1,
    url,
    secret: await seal(key, current, context),
    previousSecret: withPrevious ? await seal(key, previous, context) : null,
    previousSecretExpiresAt: withPrevious ? new Date(Date.now() + 60_000) : null,
  };
}

function deps(addresses: string[], fetch: typeof globalThis.fetch, allowPrivate = false): PostDeps {
  return { sealingKey: key, verdicts: rememberVerdicts(async () => addresses), allowPrivate, timeoutMs: 1000, signal: new AbortController().signal, fetch };
}

const neverCalled = (async () => {
  throw new Error("no request may be made");
}) as unknown as typeof fetch;

describe("postDelivery", () => {
  test("refuses at send time a name that resolves to a private address, without a request", async () => {
    const result = await postDelivery(await delivery("https://hooks.example.com/h"), deps(["10.0.0.5"], neverCalled));
    expect(result.ok).toBe(false);
    expect(result.error).toContain("private address (10.0.0.5)");
  });

  test("refuses an http URL unless private targets are allowed", async () => {
    const result = await postDelivery(await delivery("http://hooks.example.com/h"), deps(["93.184.216.34"], neverCalled));
    expect(result.error).toBe("refused: the URL must be an https URL");
  });

  test("signs with the current and the previous secret during a grace, webhook-id the delivery's id, to the checked address", async () => {
    const seen: Array<{ url: string; body: string; headers: Record<string, string> }> = [];
    const capture = (async (url: URL | string, init?: RequestInit) => {
      seen.push({ url: String(url), body: String(init?.body), headers: init?.headers as Record<string, string> });
      return new Response("thanks", { status: 202 });
    }) as unknown as typeof fetch;
    const d = await delivery("https://hooks.example.com/h", true);
    const result = await postDelivery(d, deps(["93.184.216.34"], capture));
    expect(result).toMatchObject({ ok: true, statusCode: 202, responseBody: "thanks" });
    const [req] = seen;
    if (req === undefined) throw new Error("no request");
    expect(req.url).toBe("https://93.184.216.34/h");
    expect(req.headers.host).toBe("hooks.example.com");
    expect(req.headers["webhook-id"]).toBe(d.id);
    expect(new Webhook(current).verify(req.body, req.headers)).toEqual(d.event);
    expect(new Webhook(previous).verify(req.body, req.headers)).toEqual(d.event);
  });

  test("a non-2xx answer is a failure with its status and the start of its body", async () => {
    const answer = (async () => new Response("x".repeat(5000), { status: 503 })) as unknown as typeof fetch;
    const result = await postDelivery(await delivery("https://hooks.example.com/h"), deps(["93.184.216.34"], answer));
    expect(result).toMatchObject({ ok: false, statusCode: 503, error: "HTTP 503" });
    expect(result.responseBody).toHaveLength(1024);
  });
});
