import { createResendSender, type ResendSenderOptions } from "./email-resend.ts";
import { createSmtpSender, type SmtpSenderOptions } from "./email-smtp.ts";
import { createInboxSender } from "./inbox.ts";
import { createFcmSender, type FcmSenderOptions } from "./push-fcm.ts";
import { createSinkSender, type SinkRecorder } from "./sink.ts";
import { createTwilioSender, type TwilioSenderOptions } from "./sms-twilio.ts";
import type { Senders } from "./types.ts";
import { createWebhookSender, type WebhookSenderOptions } from "./webhook.ts";

export { PermanentError, RetryableError, classifyError, type SendOutcome } from "./errors.ts";
export { createSinkRecorder, type SinkEntry, type SinkRecorder } from "./sink.ts";
export type { OutboundNotification, SendContext, SendResult, Sender, Senders } from "./types.ts";

export interface SendersOptions {
  webhook: WebhookSenderOptions;
  /** SMTP or Resend's API; left out, email goes to the sink. */
  email?: { smtp: SmtpSenderOptions } | { resend: ResendSenderOptions };
  /** Twilio; left out, SMS goes to the sink. */
  sms?: TwilioSenderOptions;
  /** Firebase Cloud Messaging; left out, push goes to the sink. */
  push?: FcmSenderOptions;
  sink?: SinkRecorder;
}

/**
 * The channel registry. A `Record<Channel, Sender>`, so adding a channel to
 * `schemas/enums.ts` without a sender fails to compile. A channel whose
 * provider is not configured goes to the clearly named `sink` provider, which
 * delivers nothing; in-app notifications go to the user's inbox (`inbox`).
 */
export function createSenders(opts: SendersOptions): Senders {
  return {
    email:
      opts.email === undefined
        ? createSinkSender("email", opts.sink)
        : "smtp" in opts.email
          ? createSmtpSender(opts.email.smtp)
          : createResendSender(opts.email.resend),
    sms: opts.sms ? createTwilioSender(opts.sms) : createSinkSender("sms", opts.sink),
    push: opts.push ? createFcmSender(opts.push) : createSinkSender("push", opts.sink),
    in_app: createInboxSender(opts.sink),
    webhook: createWebhookSender(opts.webhook),
  };
}

/** Closes every sender that holds something (SMTP pools); one failing does not keep the others open. */
export async function closeSenders(senders: Senders): Promise<void> {
  const closing = Object.values(senders).map((s) => s.close?.());
  const failed = (await Promise.allSettled(closing)).find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}
