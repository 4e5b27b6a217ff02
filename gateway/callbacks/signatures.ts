import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { AppError } from "../errors.ts";

// Provider callbacks carry no API key: each provider signs its requests, and
// these checks are what authenticates them. Web Crypto only, so the gateway
// core stays runtime-neutral.

const encoder = new TextEncoder();

/** Code-unit order, as Twilio sorts parameter names (not the locale's). */
const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * What Twilio sends as `X-Twilio-Signature`: base64 of HMAC-SHA1 keyed with
 * the account's auth token over the URL it was given followed by each POST
 * parameter's name and value, sorted by name (a repeated name by value).
 */
export async function twilioSignature(authToken: string, url: string, params: Iterable<[string, string]>): Promise<string> {
  const sorted = [...params].sort(([a, av], [b, bv]) => byCodeUnit(a, b) || byCodeUnit(av, bv));
  const data = url + sorted.map(([name, value]) => name + value).join("");
  const key = await crypto.subtle.importKey("raw", encoder.encode(authToken), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(data)));
  return btoa(String.fromCharCode(...mac));
}

/** Compares in time that depends only on the lengths, so a forger learns nothing from how long a refusal took. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  // A signature's length is public (a SHA-1 MAC is always 28 base64 characters).
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Refuses a Twilio callback whose signature is missing or not Twilio's for this URL and these parameters. */
export async function verifyTwilio(authToken: string, url: string, params: URLSearchParams, signature: string | undefined): Promise<void> {
  if (signature === undefined || signature === "") throw new AppError("invalid_signature", { detail: "The request has no X-Twilio-Signature header" });
  if (!constantTimeEqual(signature, await twilioSignature(authToken, url, params))) {
    throw new AppError("invalid_signature", {
      detail: "X-Twilio-Signature does not match: is TWILIO_AUTH_TOKEN the account's auth token, and TWILIO_STATUS_CALLBACK_URL the URL Twilio calls?",
    });
  }
}

/** The Svix headers Resend signs with, as the Standard Webhooks library names them. */
export interface SvixHeaders {
  "svix-id": string | undefined;
  "svix-timestamp": string | undefined;
  "svix-signature": string | undefined;
}

/**
 * Refuses a Resend webhook that is unsigned, signed with another secret, or
 * stamped more than five minutes from now (a replay). Resend signs the Svix
 * way, which is Standard Webhooks under `svix-*` header names.
 */
export function verifyResend(secret: string, body: string, headers: SvixHeaders): void {
  let webhook: Webhook;
  try {
    webhook = new Webhook(secret);
  } catch (err) {
    throw new AppError("unavailable", { detail: "HERALD_RESEND_WEBHOOK_SECRET is not a whsec_ secret that decodes; Resend's callbacks are off", cause: err });
  }
  try {
    webhook.verify(
      body,
      {
        "webhook-id": headers["svix-id"] ?? "",
        "webhook-timestamp": headers["svix-timestamp"] ?? "",
        "webhook-signature": headers["svix-signature"] ?? "",
      },
      { jsonParse: false },
    );
  } catch (err) {
    if (!(err instanceof WebhookVerificationError)) throw err;
    throw new AppError("invalid_signature", { detail: `The Svix signature was refused: ${err.message}`, cause: err });
  }
}
