import { z } from "zod";
import { isApnsDeviceToken } from "./push-apns.ts";
import { PushPayload } from "../../schemas/request.ts";
import { PermanentError, RetryableError } from "./errors.ts";
import { createServiceAccountTokenSource, TokenGrantError, type ServiceAccountKey } from "./google-oauth.ts";
import { classifyFcmFailure } from "./push-fcm-errors.ts";
import type { Sender } from "./types.ts";

export const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";

export interface FcmSenderOptions {
  /** The parsed key file: `project_id` names the FCM project, `token_uri` the token endpoint. */
  serviceAccount: ServiceAccountKey;
  /** FCM origin; default `https://fcm.googleapis.com`. */
  baseUrl?: string;
  /** Bounds one notification: waiting for an access token and the send together. */
  timeoutMs: number;
  /** Injected for tests: the global fetch otherwise (used for the token grant too). */
  fetch?: typeof fetch;
}

/** Firebase Cloud Messaging, HTTP v1 API: one `messages:send` per notification. */
export function createFcmSender(opts: FcmSenderOptions): Sender {
  const sa = opts.serviceAccount;
  const doFetch = opts.fetch ?? fetch;
  const tokens = createServiceAccountTokenSource({ serviceAccount: sa, scope: FCM_SCOPE, fetch: doFetch });
  const url = `${(opts.baseUrl ?? "https://fcm.googleapis.com").replace(/\/+$/, "")}/v1/projects/${encodeURIComponent(sa.project_id)}/messages:send`;
  return {
    provider: "fcm",
    // An APNs device token (hex) is never an FCM registration token: APNs takes it.
    accepts: (n) => !isApnsDeviceToken(n.payload.to),
    async send(n, ctx) {
      const parsed = PushPayload.safeParse(n.payload);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new PermanentError(`invalid push payload: ${issue?.path.join(".") || "payload"}: ${issue?.message ?? "unknown"}`);
      }
      const { to, title, body, data } = parsed.data;
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      const signal = AbortSignal.any([ctx.signal, timeout]);
      const failed = (stage: string, err: unknown) => {
        const why = timeout.aborted ? `timed out after ${opts.timeoutMs} ms` : err instanceof Error ? err.message : String(err);
        return new RetryableError(`${stage}: ${why}`, err instanceof TokenGrantError ? err.retryAfterMs : undefined, { cause: err });
      };
      let token: string;
      let res: Response;
      try {
        token = await tokens.token(signal);
      } catch (err) {
        throw failed("access token", err);
      }
      try {
        res = await doFetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ message: { token: to, notification: { title, body }, data } }),
          redirect: "manual",
          signal,
        });
      } catch (err) {
        throw failed("FCM request", err);
      }
      const answer: unknown = await res.json().catch(() => undefined);
      if (res.ok) {
        // A 2xx means FCM accepted the message: never retry it over an unreadable body.
        const name = z.object({ name: z.string() }).safeParse(answer).data?.name;
        return name === undefined ? {} : { providerMessageId: name };
      }
      const { error, staleToken } = classifyFcmFailure(res.status, answer, res.headers.get("retry-after"));
      if (staleToken) tokens.invalidate(token);
      throw error;
    },
  };
}
