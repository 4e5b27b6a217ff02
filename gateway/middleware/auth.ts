import type { MiddlewareHandler } from "hono";
import type { Principal, TenantDirectory } from "../../schemas/tenancy.ts";
import { AppError } from "../errors.ts";
import { scopeOf } from "../scopes.ts";

/** Context variables set by `bearerAuth()`. */
export interface AuthVariables {
  tenant: string;
  principal: Principal;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The key of an `Authorization: Bearer <key>` header, or undefined. */
export function bearerKey(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

/** The principal of a request's key, or the 401 (or the 503 when the key store does not answer) to throw. */
export async function principalOf(directory: TenantDirectory, header: string | undefined, hint: string): Promise<Principal> {
  if (header === undefined) throw new AppError("unauthorized", { detail: `Send Authorization: Bearer <${hint}>` });
  const key = bearerKey(header);
  let principal: Principal | undefined;
  try {
    const found = key === undefined ? undefined : directory.authenticate(key);
    principal = found instanceof Promise ? await found : found;
  } catch (cause) {
    throw new AppError("unavailable", { detail: "The API key could not be checked; retry", retryAfter: 1, cause });
  }
  if (principal === undefined) throw new AppError("unauthorized", { detail: "The API key is not recognised, was revoked or has expired" });
  return principal;
}

/**
 * `Authorization: Bearer <api key>` → the key's principal and tenant in the
 * context, the tenant's settings loaded for the middleware after it. A
 * missing, unknown, revoked or expired key answers 401; a key without the
 * scope the operation needs (gateway/scopes.ts) answers 403.
 */
export function bearerAuth(directory: TenantDirectory, opts: { mountedAt: string } = { mountedAt: "/v1" }): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function bearerAuthMiddleware(c, next) {
    const principal = await principalOf(directory, c.req.header("authorization"), "api key");
    const scope = scopeOf(c.req.method, c.req.path.slice(opts.mountedAt.length));
    if (scope !== undefined && !principal.scopes.has(scope)) {
      throw new AppError("forbidden", { detail: `This API key lacks the "${scope}" scope ${c.req.method} ${c.req.path} needs` });
    }
    c.set("principal", principal);
    c.set("tenant", principal.tenant);
    const settings = directory.settings(principal.tenant);
    if (settings instanceof Promise) await settings;
    await next();
  };
}
