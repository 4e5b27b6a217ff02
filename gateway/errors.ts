import type { ContentfulStatusCode, UnofficialStatusCode } from "hono/utils/http-status";
import type { z } from "zod";

/** Every way a gateway request can fail; the union is closed so `statusOf` stays exhaustive. */
export type ErrorCode =
  | "invalid_body"
  | "invalid_query"
  | "unauthorized"
  | "invalid_signature"
  | "forbidden"
  | "not_found"
  | "idempotency_in_flight"
  | "idempotency_mismatch"
  | "not_cancellable"
  | "template_exists"
  | "template_invalid"
  | "category_required"
  | "secret_current"
  | "too_many_secrets"
  | "invalid_link"
  | "link_expired"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "daily_cap"
  | "unavailable"
  | "internal"
  | "client_closed_request";

/** One field-level problem, `path` dotted from the body root (`payload.to`). */
export interface FieldError {
  path: string;
  message: string;
}

export interface AppErrorOptions {
  detail?: string;
  errors?: FieldError[];
  /** Seconds for `Retry-After`; only meaningful on 409, 429 and 503. */
  retryAfter?: number;
  /** More response headers the answer carries (a 429's RateLimit-* fields). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** The single error type handlers throw; `app.onError` turns it into problem+json. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly retryAfter: number | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, opts: AppErrorOptions = {}) {
    super(opts.detail ?? titleOf(code), { cause: opts.cause });
    this.name = "AppError";
    this.code = code;
    this.detail = opts.detail;
    this.errors = opts.errors;
    this.retryAfter = opts.retryAfter;
    this.headers = opts.headers;
  }

  get status(): ContentfulStatusCode {
    return statusOf(this.code);
  }
}

/** Narrows an unknown throw to the gateway's own error. */
export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** nginx's "client closed request": nobody reads the answer, it is for the access count and the log. */
const CLIENT_CLOSED_REQUEST = 499 as number as UnofficialStatusCode;

/** The one code → status table. */
export function statusOf(code: ErrorCode): ContentfulStatusCode {
  switch (code) {
    case "invalid_body":
    case "invalid_query":
      return 400;
    case "unauthorized":
    case "invalid_signature":
    case "invalid_link":
      return 401;
    case "forbidden":
      return 403;
    case "not_found":
      return 404;
    case "idempotency_in_flight":
    case "not_cancellable":
    case "template_exists":
    case "category_required":
    case "secret_current":
    case "too_many_secrets":
      return 409;
    case "payload_too_large":
      return 413;
    case "link_expired":
      return 410;
    case "unsupported_media_type":
      return 415;
    case "idempotency_mismatch":
    case "template_invalid":
      return 422;
    case "rate_limited":
    case "daily_cap":
      return 429;
    case "client_closed_request":
      return CLIENT_CLOSED_REQUEST;
    case "internal":
      return 500;
    case "unavailable":
      return 503;
    default:
      return assertNever(code);
  }
}

const TITLES: Record<ErrorCode, string> = {
  invalid_body: "Invalid request body",
  invalid_query: "Invalid query string",
  unauthorized: "Missing or unknown API key",
  invalid_signature: "Missing or invalid provider signature",
  forbidden: "Forbidden",
  not_found: "Not found",
  idempotency_in_flight: "A request with this Idempotency-Key is still in flight",
  idempotency_mismatch: "Idempotency-Key reused with a different body",
  not_cancellable: "The notification can no longer be cancelled",
  template_exists: "A template with this name exists",
  template_invalid: "The template cannot be used as it is",
  category_required: "Users cannot opt out of a required category",
  secret_current: "The current webhook secret cannot be deleted",
  too_many_secrets: "Too many webhook secrets are valid at once",
  invalid_link: "The link is not one Herald signed",
  link_expired: "The link has expired",
  payload_too_large: "Payload too large",
  unsupported_media_type: "Content-Type must be application/json",
  rate_limited: "Too many requests",
  daily_cap: "Daily cap reached",
  unavailable: "Service temporarily unavailable",
  internal: "Internal server error",
  client_closed_request: "Client closed request",
};

/** The fixed human title of a code; `detail` carries the specifics. */
export function titleOf(code: ErrorCode): string {
  return TITLES[code];
}

/** Seconds for `Retry-After`: the thrower's value, else 1 s for the codes a client should retry. */
export function retryAfterOf(err: AppError): number | undefined {
  if (err.retryAfter !== undefined) return err.retryAfter;
  const retryable: ErrorCode[] = ["idempotency_in_flight", "rate_limited", "unavailable", "too_many_secrets"];
  return retryable.includes(err.code) ? 1 : undefined;
}

/** RFC 9457 body shared by every error response. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  requestId: string;
  errors?: FieldError[];
}

/** The problem+json body of an error (field errors only when there are some). */
export function toProblem(err: AppError, requestId: string): Problem {
  const problem: Problem = {
    type: `https://herald.dev/problems/${err.code}`,
    title: titleOf(err.code),
    status: err.status,
    detail: err.detail ?? titleOf(err.code),
    requestId,
  };
  if (err.errors && err.errors.length > 0) problem.errors = err.errors;
  return problem;
}

/** zod issues as dotted paths, relative to whatever was parsed. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
}

/** A 400 carrying every zod issue as a field error. */
export function invalidBody(error: z.ZodError, detail = "The request body failed validation"): AppError {
  return new AppError("invalid_body", { detail, errors: fieldErrors(error) });
}

/** A 400 for a query string: every zod issue as a field error, `path` naming the parameter. */
export function invalidQuery(errors: z.ZodError | FieldError[]): AppError {
  return new AppError("invalid_query", { detail: "The query string failed validation", errors: Array.isArray(errors) ? errors : fieldErrors(errors) });
}

function assertNever(value: never): never {
  throw new Error(`unhandled error code: ${String(value)}`);
}
