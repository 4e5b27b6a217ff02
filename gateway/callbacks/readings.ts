import { z } from "zod";
import type { DeliveryReport } from "../../schemas/delivery-reports.ts";

/** What one provider callback asks of Herald, read from its (already verified) body. */
export type CallbackReading =
  /** A status to move to; `suppress`: the address is dead too, for the notification's tenant. */
  | { kind: "report"; report: DeliveryReport; suppress?: { source: "bounce"; reason: string } }
  /** The recipient complained: suppress the address, the status stays. */
  | { kind: "complaint"; provider: string; providerMessageId: string; reason: string }
  | { kind: "ignored"; detail: string };

const ignored = (detail: string): CallbackReading => ({ kind: "ignored", detail });

/**
 * A Twilio status callback: `delivered` is a delivery; `undelivered` and
 * `failed` a bounce whose reason is the ErrorCode; the steps before
 * (`queued`, `sending`, `sent`, …) change nothing.
 */
export function readTwilio(form: URLSearchParams, now: Date): CallbackReading {
  const sid = form.get("MessageSid") ?? form.get("SmsSid");
  const status = form.get("MessageStatus") ?? form.get("SmsStatus");
  if (!sid) return ignored("The callback names no MessageSid");
  const report = (to: DeliveryReport["status"], reason: string | null): CallbackReading => ({
    kind: "report",
    report: { provider: "twilio", providerMessageId: sid, status: to, reason, at: now },
  });
  switch (status) {
    case "delivered":
      return report("delivered", null);
    case "undelivered":
    case "failed": {
      const code = form.get("ErrorCode");
      return report("bounced", code ? `twilio ${code}` : `twilio ${status}`);
    }
    default:
      return ignored(`MessageStatus ${status ?? "(none)"} changes nothing`);
  }
}

const text = z.string().max(2000).optional().catch(undefined);

/** The fields of a Resend webhook event Herald reads; the rest is Resend's. */
export const ResendEvent = z.object({
  type: z.string(),
  created_at: text,
  data: z
    .object({
      email_id: z.string().min(1).max(255).optional(),
      bounce: z.object({ type: text, subType: text, message: text }).optional().catch(undefined),
    })
    .default({}),
});

/**
 * A Resend webhook: `email.delivered` is a delivery; `email.bounced` a bounce
 * (Resend sends it for permanent rejections) and a suppression; `email.complained`
 * a suppression alone; every other type changes nothing.
 */
export function readResend(event: z.infer<typeof ResendEvent>, now: Date): CallbackReading {
  const emailId = event.data.email_id;
  const handled = ["email.delivered", "email.bounced", "email.complained"];
  if (!handled.includes(event.type)) return ignored(`Events of type ${event.type.slice(0, 64)} change nothing`);
  if (emailId === undefined) return ignored("The event names no data.email_id");
  const stamped = Date.parse(event.created_at ?? "");
  const at = Number.isNaN(stamped) ? now : new Date(stamped);
  switch (event.type) {
    case "email.delivered":
      return { kind: "report", report: { provider: "resend", providerMessageId: emailId, status: "delivered", reason: null, at } };
    case "email.bounced": {
      const reason = bounceReason(event.data.bounce);
      return {
        kind: "report",
        report: { provider: "resend", providerMessageId: emailId, status: "bounced", reason, at },
        suppress: { source: "bounce", reason },
      };
    }
    default:
      return { kind: "complaint", provider: "resend", providerMessageId: emailId, reason: "resend complaint: the recipient marked the email as spam" };
  }
}

/** `resend bounce Permanent/General: <the receiving server's message>`. */
function bounceReason(bounce: { type?: string | undefined; subType?: string | undefined; message?: string | undefined } | undefined): string {
  const kind = [bounce?.type, bounce?.subType].filter(Boolean).join("/");
  return `resend bounce${kind ? ` ${kind}` : ""}${bounce?.message ? `: ${bounce.message}` : ""}`;
}
