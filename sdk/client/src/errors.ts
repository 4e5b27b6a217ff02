import type { FieldError, Problem, ProblemCode } from "./contract.ts";

/** Every error the client throws, except the caller's own abort (its signal's reason is thrown as it is). */
export class HeraldError extends Error {
  override name = "HeraldError";
}

/**
 * The gateway answered with an error: its problem+json body (RFC 9457),
 * status and `Retry-After`. Subclasses name the statuses callers handle.
 */
export class HeraldApiError extends HeraldError {
  override name = "HeraldApiError";
  readonly status: number;
  /** The problem `type`'s last segment (`invalid_body`, `rate_limited`, …); the status text when the body was not a problem. */
  readonly code: ProblemCode | (string & {});
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  /** The request's correlation id: quote it when asking about a request. */
  readonly requestId: string | undefined;
  /** Field-level problems (400 and 422), each with its dotted path from the body root (`payload.to`). */
  readonly errors: readonly FieldError[];
  /** Seconds the gateway asked to wait (`Retry-After`), when it did. */
  readonly retryAfter: number | undefined;

  constructor(status: number, problem: Problem, retryAfter?: number) {
    super(`${status} ${problem.title}: ${problem.detail}`);
    this.status = status;
    this.type = problem.type;
    this.code = problem.type.slice(problem.type.lastIndexOf("/") + 1);
    this.title = problem.title;
    this.detail = problem.detail;
    this.requestId = problem.requestId === "" ? undefined : problem.requestId;
    this.errors = problem.errors ?? [];
    this.retryAfter = retryAfter;
  }
}

/** 400 (and 413, 415, 422 `template_invalid`): the request cannot succeed as it is; `errors` names each field. */
export class ValidationError extends HeraldApiError {
  override name = "ValidationError";
}
/** 401: no API key, or one the gateway does not know. */
export class AuthenticationError extends HeraldApiError {
  override name = "AuthenticationError";
}
/** 403: the key lacks the operation's scope, or may not use an operator's route. */
export class ForbiddenError extends HeraldApiError {
  override name = "ForbiddenError";
}
/** 404: no such resource for this tenant (another tenant's answers the same). */
export class NotFoundError extends HeraldApiError {
  override name = "NotFoundError";
}
/** 409 and 422 `idempotency_mismatch`: the resource's state or an earlier request with the same key stands in the way. */
export class ConflictError extends HeraldApiError {
  override name = "ConflictError";
}
/** 429: the tenant's rate limit or a daily cap; `retryAfter` says when to try again. */
export class RateLimitedError extends HeraldApiError {
  override name = "RateLimitedError";
}
/** 503: JetStream or a store did not answer, or a feature is off; nothing was stored. */
export class UnavailableError extends HeraldApiError {
  override name = "UnavailableError";
}
/** 500 and other 5xx: an unexpected failure; the gateway's log has the detail under `requestId`. */
export class ServerError extends HeraldApiError {
  override name = "ServerError";
}

/** No answer: the connection failed or was cut. `cause` is what `fetch` threw. */
export class HeraldNetworkError extends HeraldError {
  override name = "HeraldNetworkError";
}

/** The call's deadline (`timeoutMs`) passed, retries included. */
export class HeraldTimeoutError extends HeraldError {
  override name = "HeraldTimeoutError";
}

type ApiErrorClass = new (status: number, problem: Problem, retryAfter?: number) => HeraldApiError;

/** The one place a status (and, for 422, the problem's code) picks the error's class. */
function classFor(status: number, code: string): ApiErrorClass {
  switch (status) {
    case 400:
    case 413:
    case 415:
      return ValidationError;
    case 401:
      return AuthenticationError;
    case 403:
      return ForbiddenError;
    case 404:
      return NotFoundError;
    case 409:
      return ConflictError;
    case 422:
      return code === "idempotency_mismatch" ? ConflictError : ValidationError;
    case 429:
      return RateLimitedError;
    case 503:
      return UnavailableError;
    default:
      return status >= 500 ? ServerError : HeraldApiError;
  }
}

/** `Retry-After` as seconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

function isProblem(value: unknown): value is Problem {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === "string" && typeof v.title === "string" && typeof v.status === "number";
}

/** Reads an error answer into its typed error; a body that is not problem+json (a proxy's page) still gives one. */
export async function errorFromResponse(res: Response): Promise<HeraldApiError> {
  const text = await res.text().catch(() => "");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const problem: Problem = isProblem(body)
    ? { ...body, detail: body.detail ?? "", requestId: body.requestId ?? res.headers.get("x-request-id") ?? "" }
    : {
        type: "about:blank",
        title: res.statusText || `HTTP ${res.status}`,
        status: res.status,
        detail: text.slice(0, 500),
        requestId: res.headers.get("x-request-id") ?? "",
      };
  const Class = classFor(res.status, problem.type.slice(problem.type.lastIndexOf("/") + 1));
  return new Class(res.status, problem, parseRetryAfter(res.headers.get("retry-after")));
}
