import { z } from "zod";

/** How long a rotated-out secret keeps signing by default: a day for every receiver to take the new one. */
export const DEFAULT_WEBHOOK_SECRET_GRACE_SECONDS = 24 * 60 * 60;
export const MAX_WEBHOOK_SECRET_GRACE_SECONDS = 30 * 24 * 60 * 60;
/**
 * Secrets valid at once (the current one and those in their grace): each adds
 * a signature to every webhook's header and an HMAC to every send.
 */
export const MAX_ACTIVE_WEBHOOK_SECRETS = 5;

/** The body of `POST /v1/webhook-secrets/rotate`; none is the same as `{}`. */
export const RotateWebhookSecretBody = z.strictObject({
  graceSeconds: z
    .number()
    .int()
    .min(0)
    .max(MAX_WEBHOOK_SECRET_GRACE_SECONDS)
    .optional()
    .describe("How long the secret being replaced keeps signing; 0 ends it at once (a leaked secret). Default a day."),
});
export type RotateWebhookSecretBody = z.infer<typeof RotateWebhookSecretBody>;

/** One of a tenant's signing secrets as the API shows it. */
export interface WebhookSecretView {
  id: string;
  /** `whsec_<base64>`; null when it was sealed under another HERALD_TOKEN_SECRET and cannot be read (rotate to replace it). */
  secret: string | null;
  /** The one new webhooks will keep being signed with; the others end at `expiresAt`. */
  current: boolean;
  createdAt: string;
  /** Null for the current secret. */
  expiresAt: string | null;
}
