import { SmsPayload } from "../../schemas/request.ts";
import { PermanentError } from "./errors.ts";
import { providerFetch, readBounded } from "./http-response.ts";
import { classifyVonageAnswer } from "./sms-vonage-answer.ts";
import type { Sender } from "./types.ts";

export interface VonageSenderOptions {
  /** The account's API key, the Basic-auth username. */
  apiKey: string;
  /** The account's API secret, the Basic-auth password. */
  apiSecret: string;
  /** A Vonage number (with or without `+`) or an alphanumeric sender ID where the destination allows one. */
  from: string;
  /** Per attempt, on top of the processor's own signal. */
  timeoutMs: number;
  /** Default `https://api.nexmo.com`; tests point it at a local peer. */
  baseUrl?: string;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** Vonage refuses a longer SMS text, though Herald's payload allows more for other providers. */
export const VONAGE_MAX_TEXT_CHARS = 1000;

/** Vonage wants E.164 digits without the `+`. */
const withoutPlus = (number: string): string => number.replace(/^\+/, "");

/**
 * SMS through Vonage's Messages API: one JSON `POST /v1/messages` per
 * notification, with the notification id as `client_ref` so delivery receipts
 * can be matched to it. The API has no idempotency key, so a timeout after Vonage
 * accepted a message can text twice on retry; Herald's guard is upstream (a row
 * already `sent` is never sent again).
 */
export function createVonageSender(opts: VonageSenderOptions): Sender {
  const doFetch = opts.fetch ?? fetch;
  const endpoint = `${(opts.baseUrl ?? "https://api.nexmo.com").replace(/\/+$/, "")}/v1/messages`;
  const authorization = `Basic ${Buffer.from(`${opts.apiKey}:${opts.apiSecret}`).toString("base64")}`;
  const from = withoutPlus(opts.from);
  return {
    provider: "vonage",
    // A longer text goes to the channel's next provider rather than failing here.
    accepts: (n) => (SmsPayload.safeParse(n.payload).data?.body.length ?? 0) <= VONAGE_MAX_TEXT_CHARS,
    async send(n, ctx) {
      const parsed = SmsPayload.safeParse(n.payload);
      if (!parsed.success) throw new PermanentError(`invalid sms payload: ${parsed.error.issues[0]?.message ?? "unknown"}`);
      const { to, body } = parsed.data;
      if (body.length > VONAGE_MAX_TEXT_CHARS)
        throw new PermanentError(`sms body has ${body.length} characters; vonage takes at most ${VONAGE_MAX_TEXT_CHARS}`);
      // A notification id is a UUID, well inside Vonage's 100-character client_ref.
      const message = { message_type: "text", channel: "sms", to: withoutPlus(to), from, text: body, client_ref: n.id };
      const res = await providerFetch(
        "vonage",
        doFetch,
        endpoint,
        {
          method: "POST",
          body: JSON.stringify(message),
          headers: { authorization, "content-type": "application/json", accept: "application/json" },
        },
        { timeoutMs: opts.timeoutMs, signal: ctx.signal },
      );
      const outcome = classifyVonageAnswer(res.status, await readBounded(res), res.headers.get("retry-after"));
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
}
