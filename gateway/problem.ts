import type { Context } from "hono";
import type { Logger } from "pino";
import type { BaseEnv } from "./context.ts";
import { AppError, isAppError, retryAfterOf, toProblem } from "./errors.ts";

/** Renders an AppError as `application/problem+json` with its Retry-After and the request id. */
export function renderProblem(c: Context<BaseEnv>, err: AppError): Response {
  // Read defensively: an error may be thrown before the request-id middleware ran.
  const requestId = c.get("requestId") ?? crypto.randomUUID();
  const headers: Record<string, string> = { ...err.headers, "content-type": "application/problem+json", "x-request-id": requestId };
  const retryAfter = retryAfterOf(err);
  if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter);
  if (err.code === "unauthorized") headers["www-authenticate"] = 'Bearer realm="herald"';
  return c.body(JSON.stringify(toProblem(err, requestId)), err.status, headers);
}

/**
 * The `app.onError` body: anything that is not an AppError is a bug, logged in
 * full and answered as an opaque 500 so internals never reach the client. A
 * client that went away is the client's doing: logged at info, never paged on.
 */
export function handleError(err: Error, c: Context<BaseEnv>, logger: Logger): Response {
  const appError = isAppError(err) ? err : new AppError("internal", { cause: err });
  const where = { correlationId: c.get("requestId"), path: c.req.path };
  if (appError.code === "client_closed_request") {
    logger.info({ ...where, reason: messageOf(appError.cause) }, "client closed request");
  } else if (appError.status >= 500) {
    const level = appError.code === "internal" ? "error" : "warn";
    logger[level]({ ...where, err: appError.cause ?? appError }, appError.message);
  }
  return renderProblem(c, appError);
}

function messageOf(cause: unknown): string | undefined {
  return cause instanceof Error ? cause.message : undefined;
}
