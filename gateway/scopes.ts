import type { ApiKeyScope } from "../schemas/enums.ts";

/**
 * The scope each `/v1` operation needs, in one table: the scope middleware
 * reads it, and the OpenAPI document states it on each operation, so the
 * tenant-isolation walk can try every operation with a key that lacks it.
 * Paths are OpenAPI templates relative to `/v1`.
 *
 * `send` covers what a backend does day to day: notifications, and keeping
 * its users' profiles, devices and preferences current. `admin` covers the
 * tenant's configuration (templates, categories, webhook secrets) and the
 * bulk personal-data operations (erasure, export).
 */
export const OPERATION_SCOPES: ReadonlyArray<readonly [method: string, path: string, scope: ApiKeyScope]> = [
  ["POST", "/notifications", "send"],
  ["POST", "/notifications/batch", "send"],
  ["GET", "/notifications", "read"],
  ["GET", "/notifications/{id}", "read"],
  ["GET", "/notifications/{id}/attempts", "read"],
  ["POST", "/notifications/{id}/cancel", "send"],
  ["GET", "/templates", "read"],
  ["POST", "/templates", "admin"],
  ["GET", "/templates/{name}", "read"],
  ["PUT", "/templates/{name}", "admin"],
  ["POST", "/templates/{name}/publish", "admin"],
  ["POST", "/templates/{name}/preview", "read"],
  ["POST", "/inbox/tokens", "inbox"],
  ["GET", "/inbox", "inbox"],
  ["POST", "/inbox/{id}/read", "inbox"],
  ["POST", "/inbox/read-all", "inbox"],
  ["GET", "/users/{userId}", "read"],
  ["PUT", "/users/{userId}", "send"],
  ["PATCH", "/users/{userId}", "send"],
  ["DELETE", "/users/{userId}", "admin"],
  ["GET", "/users/{userId}/export", "admin"],
  ["POST", "/users/{userId}/devices", "send"],
  ["DELETE", "/users/{userId}/devices/{token}", "send"],
  ["GET", "/users/{userId}/preferences", "read"],
  ["PUT", "/users/{userId}/preferences", "send"],
  ["GET", "/categories", "read"],
  ["GET", "/categories/{category}", "read"],
  ["PUT", "/categories/{category}", "admin"],
  ["GET", "/webhook-secrets", "admin"],
  ["POST", "/webhook-secrets/rotate", "admin"],
  ["DELETE", "/webhook-secrets/{secretId}", "admin"],
  ["POST", "/webhook-endpoints", "admin"],
  ["GET", "/webhook-endpoints", "admin"],
  ["GET", "/webhook-endpoints/{endpointId}", "admin"],
  ["PATCH", "/webhook-endpoints/{endpointId}", "admin"],
  ["DELETE", "/webhook-endpoints/{endpointId}", "admin"],
  ["GET", "/webhook-endpoints/{endpointId}/secret", "admin"],
  ["POST", "/webhook-endpoints/{endpointId}/secret/rotate", "admin"],
  ["POST", "/webhook-endpoints/{endpointId}/replay", "admin"],
  ["GET", "/webhook-endpoints/{endpointId}/deliveries", "read"],
  ["GET", "/webhook-endpoints/{endpointId}/deliveries/{deliveryId}/attempts", "read"],
  ["POST", "/webhook-endpoints/{endpointId}/deliveries/{deliveryId}/retry", "admin"],
];

interface Compiled {
  method: string;
  pattern: RegExp;
  literal: number;
  scope: ApiKeyScope;
}

const COMPILED: Compiled[] = OPERATION_SCOPES.map(([method, path, scope]) => ({
  method,
  pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+")}/?$`),
  // A literal segment beats a parameter: `/notifications/batch` is not `/notifications/{id}`.
  literal: path.split("/").filter((s) => s !== "" && !s.startsWith("{")).length,
  scope,
})).sort((a, b) => b.literal - a.literal);

/** The scope `method path` (relative to `/v1`) needs; undefined: no such operation (it will answer 404 or 405). */
export function scopeOf(method: string, path: string): ApiKeyScope | undefined {
  const m = method === "HEAD" ? "GET" : method;
  return COMPILED.find((op) => op.method === m && op.pattern.test(path))?.scope;
}
