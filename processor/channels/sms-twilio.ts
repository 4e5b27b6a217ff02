import { SmsPayload } from "../../schemas/request.ts";
import { PermanentError } from "./errors.ts";
import { providerFetch, readBounded } from "./http-response.ts";
import { classifyTwilioAnswer } from "./sms-twilio-answer.ts";
import type { Sender } from "./types.ts";

/** Basic-auth credentials. A half-configured pair does not typecheck. */
export type TwilioCredentials =
  | {
      /** Account auth token; the account SID is the username. Twilio advises it for local testing only. */ authToken: string;
      apiKeySid?: never;
      apiKeySecret?: never;
    }
  | { /** API key SID (`SK…`), the username. */ apiKeySid: string /** The key's secret. */; apiKeySecret: string; authToken?: never };

/** Where messages come from: one number, or a Messaging Service that picks the number. */
export type TwilioOrigin =
  | { /** A Twilio number in E.164 form, e.g. `+14155550100`. */ from: string; messagingServiceSid?: never }
  | { /** `MG…`; Twilio chooses the sender from the service's pool. */ messagingServiceSid: string; from?: never };

export type TwilioSenderOptions = TwilioCredentials &
  TwilioOrigin & {
    /** `AC…`: the account that owns the messages; it names the API path with either credential. */
    accountSid: string;
    /** Default `https://api.twilio.com`; tests point it at a local peer. */
    baseUrl?: string;
    /** Per attempt, on top of the processor's own signal. */
    timeoutMs: number;
    /** Sent as `StatusCallback`: Twilio POSTs delivery status changes there. */
    statusCallbackUrl?: string;
    /** Injected for tests; the global fetch otherwise. */
    fetch?: typeof fetch;
  };

/**
 * SMS through Twilio's Messages API: one form-encoded POST per notification. The API has
 * no request idempotency key, so a timeout after Twilio accepted a message can text twice
 * on retry; Herald's guard is upstream (a row already `sent` is never sent again).
 */
export function createTwilioSender(opts: TwilioSenderOptions): Sender {
  const doFetch = opts.fetch ?? fetch;
  const base = (opts.baseUrl ?? "https://api.twilio.com").replace(/\/+$/, "");
  const endpoint = `${base}/2010-04-01/Accounts/${encodeURIComponent(opts.accountSid)}/Messages.json`;
  const [user, secret] = opts.authToken === undefined ? [opts.apiKeySid, opts.apiKeySecret] : [opts.accountSid, opts.authToken];
  const authorization = `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}`;
  return {
    provider: "twilio",
    async send(n, ctx) {
      const parsed = SmsPayload.safeParse(n.payload);
      if (!parsed.success) throw new PermanentError(`invalid sms payload: ${parsed.error.issues[0]?.message ?? "unknown"}`);
      const form = new URLSearchParams({ To: parsed.data.to, Body: parsed.data.body });
      if (opts.from === undefined) form.set("MessagingServiceSid", opts.messagingServiceSid);
      else form.set("From", opts.from);
      if (opts.statusCallbackUrl !== undefined) form.set("StatusCallback", opts.statusCallbackUrl);
      const res = await providerFetch(
        "twilio",
        doFetch,
        endpoint,
        {
          method: "POST",
          body: form,
          headers: { authorization, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        },
        { timeoutMs: opts.timeoutMs, signal: ctx.signal },
      );
      const outcome = classifyTwilioAnswer(res.status, await readBounded(res), res.headers.get("retry-after"));
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
}
