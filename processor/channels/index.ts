import { createResendSender, type ResendSenderOptions } from "./email-resend.ts";
import { createSmtpSender, type SmtpSenderOptions } from "./email-smtp.ts";
import { createInboxSender } from "./inbox.ts";
import { createFcmSender, type FcmSenderOptions } from "./push-fcm.ts";
import { createApnsSender, type ApnsSenderOptions } from "./push-apns.ts";
import { createSinkSender, type SinkRecorder } from "./sink.ts";
import { createTwilioSender, type TwilioSenderOptions } from "./sms-twilio.ts";
import { createVonageSender, type VonageSenderOptions } from "./sms-vonage.ts";
import type { ProviderChains, Sender } from "./types.ts";
import { createWebhookSender, type WebhookSenderOptions } from "./webhook.ts";

export { PermanentError, RetryableError, classifyError, type SendOutcome } from "./errors.ts";
export { createSinkRecorder, createSinkSender, type SinkEntry, type SinkRecorder } from "./sink.ts";
export { createInboxSender } from "./inbox.ts";
export { createWebhookSender } from "./webhook.ts";
export type { OutboundNotification, ProviderChains, SendContext, SendResult, Sender, Senders } from "./types.ts";

/** One provider of a channel's list, with its options; `sink` delivers nothing. */
export type EmailProvider = { provider: "smtp"; options: SmtpSenderOptions } | { provider: "resend"; options: ResendSenderOptions } | { provider: "sink" };
export type SmsProvider = { provider: "twilio"; options: TwilioSenderOptions } | { provider: "vonage"; options: VonageSenderOptions } | { provider: "sink" };
export type PushProvider = { provider: "fcm"; options: FcmSenderOptions } | { provider: "apns"; options: ApnsSenderOptions } | { provider: "sink" };

export interface SendersOptions {
  webhook: WebhookSenderOptions;
  /** Each channel's providers in the order they are tried; left out or empty, the sink. */
  email?: readonly EmailProvider[];
  sms?: readonly SmsProvider[];
  push?: readonly PushProvider[];
  sink?: SinkRecorder;
}

function emailSender(p: EmailProvider, sink?: SinkRecorder): Sender {
  switch (p.provider) {
    case "smtp":
      return createSmtpSender(p.options);
    case "resend":
      return createResendSender(p.options);
    case "sink":
      return createSinkSender("email", sink);
  }
}

function smsSender(p: SmsProvider, sink?: SinkRecorder): Sender {
  switch (p.provider) {
    case "twilio":
      return createTwilioSender(p.options);
    case "vonage":
      return createVonageSender(p.options);
    case "sink":
      return createSinkSender("sms", sink);
  }
}

function pushSender(p: PushProvider, sink?: SinkRecorder): Sender {
  switch (p.provider) {
    case "fcm":
      return createFcmSender(p.options);
    case "apns":
      return createApnsSender(p.options);
    case "sink":
      return createSinkSender("push", sink);
  }
}

const orSink = <T>(list: readonly T[] | undefined, sink: T): readonly T[] => (list && list.length > 0 ? list : [sink]);

/**
 * The channel registry: each channel's providers in the order they are
 * tried. A `Record<Channel, …>`, so adding a channel to `schemas/enums.ts`
 * without a sender fails to compile. A channel without a provider goes to the
 * clearly named `sink` provider, which delivers nothing; in-app notifications
 * go to the user's inbox (`inbox`).
 */
export function createSenders(opts: SendersOptions): ProviderChains {
  return {
    email: orSink(opts.email, { provider: "sink" }).map((p) => emailSender(p, opts.sink)),
    sms: orSink(opts.sms, { provider: "sink" }).map((p) => smsSender(p, opts.sink)),
    push: orSink(opts.push, { provider: "sink" }).map((p) => pushSender(p, opts.sink)),
    in_app: [createInboxSender(opts.sink)],
    webhook: [createWebhookSender(opts.webhook)],
  };
}

/** Closes every sender that holds something (SMTP pools, HTTP/2 sessions); one failing does not keep the others open. */
export async function closeSenders(senders: ProviderChains): Promise<void> {
  const closing = Object.values(senders).flatMap((list) => list.map((s) => s.close?.()));
  const failed = (await Promise.allSettled(closing)).find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}
