import { z } from "zod";
import { PermanentError, RetryableError } from "./errors.ts";
import { parseRetryAfter } from "./http-response.ts";

/** `google.firebase.fcm.v1.ErrorCode`. */
export const FCM_ERROR_CODES = [
  "UNSPECIFIED_ERROR",
  "INVALID_ARGUMENT",
  "UNREGISTERED",
  "SENDER_ID_MISMATCH",
  "QUOTA_EXCEEDED",
  "UNAVAILABLE",
  "INTERNAL",
  "THIRD_PARTY_AUTH_ERROR",
] as const;
export type FcmErrorCode = (typeof FCM_ERROR_CODES)[number];

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
export function classifyFcmFailure(
  status: number,
  body: unknown,
  retryAfter: string | null,
  now = Date.now(),
): { error: PermanentError | RetryableError; staleToken: boolean } {
  const { fcm, rpc } = errorCodes(body);
  const what = `FCM ${fcm ?? rpc ?? "error"} (HTTP ${status})`;
  const permanent = { error: new PermanentError(what), staleToken: false };
  const retryable = { error: new RetryableError(what, parseRetryAfter(retryAfter, now)), staleToken: false };
  switch (fcm) {
    // The app was uninstalled or the token expired: the device can never receive; Herald suppresses the token.
    case "UNREGISTERED":
      return { error: new PermanentError(`${what}: the device token is no longer registered`, { unreachable: true }), staleToken: false };
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
