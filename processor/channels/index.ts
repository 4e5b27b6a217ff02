import { createSinkSender, type SinkRecorder } from "./sink.ts";
import type { Senders } from "./types.ts";
import { createWebhookSender } from "./webhook.ts";

export { PermanentError, RetryableError, classifyError, type SendOutcome } from "./errors.ts";
export { createSinkRecorder, type SinkEntry, type SinkRecorder } from "./sink.ts";
export type { OutboundNotification, SendContext, SendResult, Sender, Senders } from "./types.ts";

/**
 * The channel registry. A `Record<Channel, Sender>`, so adding a channel to
 * `schemas/enums.ts` without a sender fails to compile. Only webhooks are real
 * so far; the other channels go to the clearly named `sink` provider.
 */
export function createSenders(opts: {
  webhook: { secret: string; timeoutMs: number; allowPrivate: boolean };
  sink?: SinkRecorder;
}): Senders {
  return {
    email: createSinkSender("email", opts.sink),
    sms: createSinkSender("sms", opts.sink),
    push: createSinkSender("push", opts.sink),
    in_app: createSinkSender("in_app", opts.sink),
    webhook: createWebhookSender(opts.webhook),
  };
}
