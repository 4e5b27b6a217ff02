import { createHmac } from "node:crypto";
import { isReservedWebhookHeader } from "../../schemas/request.ts";

const PREFIX = "whsec_";

/** The HMAC key of a `whsec_<base64>` secret (Standard Webhooks). */
export function webhookKey(secret: string): Buffer {
  const raw = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  const key = Buffer.from(raw, "base64");
  if (key.length === 0) throw new Error("webhook secret must be whsec_ followed by base64");
  return key;
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` as Standard Webhooks defines it. */
export function signWebhook(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac("sha256", key).update(`${id}.${timestampSeconds}.${body}`).digest("base64");
  return `v1,${mac}`;
}

/**
 * One signature per key, space-separated, as Standard Webhooks allows: during a
 * rotation a receiver holding either the old or the new secret verifies.
 */
export function signWebhookWithEach(keys: readonly Buffer[], id: string, timestampSeconds: number, body: string): string {
  return keys.map((key) => signWebhook(key, id, timestampSeconds, body)).join(" ");
}

/** User headers first, then ours, so nothing the user sends can override a webhook-* header. */
export function webhookHeaders(opts: {
  id: string;
  body: string;
  keys: readonly Buffer[];
  nowMs: number;
  user?: Record<string, string>;
}): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(opts.user ?? {})) {
    if (!isReservedWebhookHeader(name)) headers[name.toLowerCase()] = value;
  }
  const ts = Math.floor(opts.nowMs / 1000);
  headers["content-type"] = "application/json";
  headers["webhook-id"] = opts.id;
  headers["webhook-timestamp"] = String(ts);
  headers["webhook-signature"] = signWebhookWithEach(opts.keys, opts.id, ts, opts.body);
  return headers;
}
