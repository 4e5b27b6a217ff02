import { z } from "zod";
import { PushPayload } from "../../schemas/request.ts";
import { PermanentError, RetryableError } from "./errors.ts";
import { createServiceAccountTokenSource, TokenGrantError, type ServiceAccountKey } from "./google-oauth.ts";
import { parseRetryAfter } from "./http-response.ts";
import type { Sender } from "./types.ts";

export const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";

/** `google.firebase.fcm.v1.ErrorCode`. */
export const FCM_ERROR_CODES = ["UNSPECIFIED_ERROR", "INVALID_ARGUMENT", "UNREGISTERED", "SENDER_ID_MISMATCH", "QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL", "THIRD_PARTY_AUTH_ERROR"] as const;
export type FcmErrorCode = (typeof FCM_ERROR_CODES)[number];

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

// google.rpc.Status; FcmError detail per the REST reference (`errorCode`; `error_code` in the proto).
const Detail = z.object({ "@type": z.string().optional(), errorCode: z.string().optional(), error_code: z.string().optional() });
const RpcStatus = z.object({ error: z.object({ status: z.string().optional(), details: z.array(z.unknown()).optional() }) });

function isFcmErrorCode(code: unknown): code is FcmErrorCode {
  return (FCM_ERROR_CODES as readonly unknown[]).includes(code);
}

/** Reads the FCM error code, else google.rpc's canonical status, out of an error body. */
function errorCodes(body: unknown): { fcm?: FcmErrorCode; rpc?: string } {
  const status = RpcStatus.safeParse(body).data?.error;
  for (const d of status?.details ?? []) {
    const detail = Detail.safeParse(d).data;
    const code = detail?.errorCode ?? detail?.error_code;
    if (detail?.["@type"]?.endsWith("google.firebase.fcm.v1.FcmError") && isFcmErrorCode(code)) return { fcm: code, rpc: status?.status };
  }
  return { rpc: status?.status };
}

/**
 * Classifies a non-2xx FCM answer. Messages carry codes only: Google's own
 * error text can echo the payload, and logs must not hold it.
 * `staleToken` means our access token was refused and must be dropped.
 */
export function classifyFcmFailure(status: number, body: unknown, retryAfter: string | null, now = Date.now()): { error: PermanentError | RetryableError; staleToken: boolean } {
  const { fcm, rpc } = errorCodes(body);
  const what = `FCM ${fcm ?? rpc ?? "error"} (HTTP ${status})`;
  const permanent = { error: new PermanentError(what), staleToken: false };
  const retryable = { error: new RetryableError(what, parseRetryAfter(retryAfter, now)), staleToken: false };
  switch (fcm) {
    case "UNREGISTERED":
    case "INVALID_ARGUMENT":
    case "SENDER_ID_MISMATCH":
      return permanent;
    case "QUOTA_EXCEEDED":
    case "UNAVAILABLE":
    case "INTERNAL":
    // The project's APNs certificate or web-push key: fixable config, and not our OAuth token.
    case "THIRD_PARTY_AUTH_ERROR":
      return retryable;
    case "UNSPECIFIED_ERROR":
    case undefined:
      if (status === 401) return { error: new RetryableError(`${what}: access token refused`), staleToken: true };
      // PERMISSION_DENIED: the service account lacks the role or the API is off, operator config that a fix delivers.
      if (status === 403) return { error: new RetryableError(`${what}: check the service account's permissions`), staleToken: false };
      if (status === 408 || status === 429 || status >= 500) return retryable;
      return permanent;
    default:
      return fcm satisfies never;
  }
}

/** Firebase Cloud Messaging, HTTP v1 API: one `messages:send` per notification. */
export function createFcmSender(opts: FcmSenderOptions): Sender {
  const sa = opts.serviceAccount;
  const doFetch = opts.fetch ?? fetch;
  const tokens = createServiceAccountTokenSource({ serviceAccount: sa, scope: FCM_SCOPE, fetch: doFetch });
  const url = `${(opts.baseUrl ?? "https://fcm.googleapis.com").replace(/\/+$/, "")}/v1/projects/${encodeURIComponent(sa.project_id)}/messages:send`;
  return {
    provider: "fcm",
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
