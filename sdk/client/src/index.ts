// @herald/client: Herald's HTTP API for services, on `fetch` alone (Node 20+, Bun, Deno, browsers).
export { HeraldClient } from "./client.ts";
export type { CallArgs, CallOptions, HeraldClientOptions, RetryInfo, SendOptions } from "./transport.ts";
export type { RetryOptions } from "./retry.ts";
export {
  AuthenticationError,
  ConflictError,
  ForbiddenError,
  HeraldApiError,
  HeraldError,
  HeraldNetworkError,
  HeraldTimeoutError,
  NotFoundError,
  RateLimitedError,
  ServerError,
  UnavailableError,
  ValidationError,
} from "./errors.ts";
export { OPERATIONS } from "./contract.ts";
export type * from "./contract.ts";
