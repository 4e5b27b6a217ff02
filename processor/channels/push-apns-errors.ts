import { z } from "zod";
import { PermanentError, RetryableError } from "./errors.ts";
import { parseRetryAfter } from "./http-response.ts";

/** The `reason` strings APNs documents for a refused request. */
export const APNS_REASONS = [
  "BadCollapseId",
  "BadDeviceToken",
  "BadExpirationDate",
  "BadMessageId",
  "BadPriority",
  "BadTopic",
  "DeviceTokenNotForTopic",
  "DuplicateHeaders",
  "IdleTimeout",
  "InvalidPushType",
  "MissingDeviceToken",
  "MissingTopic",
  "PayloadEmpty",
  "TopicDisallowed",
  "BadCertificate",
  "BadCertificateEnvironment",
  "ExpiredProviderToken",
  "Forbidden",
  "InvalidProviderToken",
  "MissingProviderToken",
  "UnrelatedKeyIdInToken",
  "BadEnvironmentKeyIdInToken",
  "BadPath",
  "MethodNotAllowed",
  "ExpiredToken",
  "Unregistered",
  "PayloadTooLarge",
  "TooManyProviderTokenUpdates",
  "TooManyRequests",
  "InternalServerError",
  "ServiceUnavailable",
  "Shutdown",
] as const;
export type ApnsReason = (typeof APNS_REASONS)[number];

const ErrorBody = z.object({ reason: z.string() });

function reasonOf(text: string): ApnsReason | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const reason = ErrorBody.safeParse(json).data?.reason;
  return (APNS_REASONS as readonly unknown[]).includes(reason) ? (reason as ApnsReason) : undefined;
}

/**
 * Classifies a non-200 APNs answer by its documented `reason`. Messages carry
 * the reason and status only, never the device token. `staleToken` means our
 * provider token was refused: re-sign it and try once more.
 */
export function classifyApnsFailure(
  status: number,
  bodyText: string,
  retryAfter: string | null,
  now = Date.now(),
): { error: PermanentError | RetryableError; staleToken: boolean } {
  const reason = reasonOf(bodyText);
  const what = `APNs ${reason ?? "error"} (HTTP ${status})`;
  const permanent = { error: new PermanentError(what), staleToken: false };
  const unreachable = { error: new PermanentError(`${what}: the device token can no longer receive`, { unreachable: true }), staleToken: false };
  const retryable = { error: new RetryableError(what, parseRetryAfter(retryAfter, now)), staleToken: false };
  const config = { error: new RetryableError(`${what}: check the APNs key, team and topic`), staleToken: false };
  switch (reason) {
    case "Unregistered":
    case "ExpiredToken":
      return unreachable;
    // Also what a token of the other APNs environment gets: the message says so for the operator.
    case "BadDeviceToken":
      // Also what a valid token sent to the other environment gets: a wrong HERALD_APNS_API_URL must not suppress every device.
      return {
        error: new PermanentError(`${what}: invalid device token, or one from the other APNs environment (check HERALD_APNS_API_URL)`),
        staleToken: false,
      };
    // The message, or a request our code built, is at fault: the same request fails again.
    case "PayloadTooLarge":
    case "PayloadEmpty":
    case "DeviceTokenNotForTopic":
    case "MissingDeviceToken":
    case "BadCollapseId":
    case "BadExpirationDate":
    case "BadMessageId":
    case "BadPriority":
    case "DuplicateHeaders":
    case "InvalidPushType":
    case "BadPath":
    case "MethodNotAllowed":
      return permanent;
    case "ExpiredProviderToken":
    case "InvalidProviderToken":
      return { error: new RetryableError(`${what}: provider token refused`), staleToken: true };
    // Operator config (key, team, topic, environment): a fix delivers the message, as with Twilio's credentials.
    case "BadTopic":
    case "MissingTopic":
    case "TopicDisallowed":
    case "BadCertificate":
    case "BadCertificateEnvironment":
    case "Forbidden":
    case "MissingProviderToken":
    case "UnrelatedKeyIdInToken":
    case "BadEnvironmentKeyIdInToken":
      return config;
    case "TooManyProviderTokenUpdates":
    case "TooManyRequests":
    case "IdleTimeout":
    case "InternalServerError":
    case "ServiceUnavailable":
    case "Shutdown":
      return retryable;
    case undefined:
      if (status === 410) return unreachable;
      if (status === 403) return config;
      if (status === 408 || status === 429 || status >= 500) return retryable;
      return permanent;
    default:
      return reason satisfies never;
  }
}
