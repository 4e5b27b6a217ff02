import { trace } from "@opentelemetry/api";
import type { Context } from "hono";
import type { Logger } from "pino";
import { isUnreachable } from "../lib/db/unreachable.ts";
import { traceIdFromTraceparent } from "../lib/telemetry/correlation.ts";
import { NOOP_ERROR_REPORTER, safeHeaders, type ErrorContext, type ErrorReporter } from "../lib/telemetry/error-reporter.ts";
import type { BaseEnv } from "./context.ts";
import { AppError, isAppError, retryAfterOf, toProblem } from "./errors.ts";
import { routeLabel, traceContextOf } from "./middleware/telemetry.ts";

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

/** Seconds a client is asked to wait when Postgres did not answer: about a reconnect's backoff (lib/db/pool.ts). */
const UNREACHABLE_RETRY_AFTER_S = 2;

/**
 * The `app.onError` body: Postgres unreachable is an outage, answered 503
 * with Retry-After and logged at warn; anything else that is not an AppError
 * is a bug, logged in full, reported to error tracking, and answered as an
 * opaque 500 so internals never reach the client. A client that went away is
 * the client's doing: logged at info, never paged on.
 */
export function handleError(err: Error, c: Context<BaseEnv>, logger: Logger, reporter: ErrorReporter = NOOP_ERROR_REPORTER): Response {
  const appError = isAppError(err) ? err : fromUnexpected(err);
  const where = { correlationId: c.get("requestId"), path: c.req.path };
  if (appError.code === "client_closed_request") {
    logger.info({ ...where, reason: messageOf(appError.cause) }, "client closed request");
  } else if (appError.status >= 500) {
    const level = appError.code === "internal" ? "error" : "warn";
    logger[level]({ ...where, err: appError.cause ?? appError }, appError.message);
    if (appError.code === "internal" && reporter.enabled) reporter.report(appError.cause ?? appError, errorContext(c));
  }
  return renderProblem(c, appError);
}

/**
 * What a 500's report may say about its request: ids, the trace, the route
 * pattern (never the path, which can hold a user id) and the safe headers.
 */
function errorContext(c: Context<BaseEnv>): ErrorContext {
  const span = trace.getSpanContext(traceContextOf(c));
  const traced = span !== undefined && trace.isSpanContextValid(span);
  return {
    requestId: c.get("requestId"),
    traceId: traced ? span.traceId : traceIdFromTraceparent(c.req.header("traceparent")),
    spanId: traced ? span.spanId : undefined,
    tags: { service: "gateway", route: routeLabel(c), method: c.req.method },
    headers: safeHeaders((name) => c.req.header(name)),
  };
}

function fromUnexpected(err: Error): AppError {
  if (!isUnreachable(err)) return new AppError("internal", { cause: err });
  return new AppError("unavailable", {
    detail: "Herald's database did not answer; retry after Retry-After",
    retryAfter: UNREACHABLE_RETRY_AFTER_S,
    cause: err,
  });
}

function messageOf(cause: unknown): string | undefined {
  return cause instanceof Error ? cause.message : undefined;
}
