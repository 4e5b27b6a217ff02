import type { MiddlewareHandler } from "hono";
import { AppError } from "../errors.ts";

/** Context variables set by `bearerAuth()`. */
export interface AuthVariables {
  tenant: string;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The key of an `Authorization: Bearer <key>` header, or undefined. */
export function bearerKey(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

/**
 * `Authorization: Bearer <api key>` → the key's tenant in the context. A
 * missing and an unknown key both answer 401; 403 stays free for keys that
 * are valid but not allowed (scopes, later).
 */
export function bearerAuth(keys: ReadonlyMap<string, string>): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function bearerAuthMiddleware(c, next) {
    const header = c.req.header("authorization");
    if (header === undefined) throw new AppError("unauthorized", { detail: "Send Authorization: Bearer <api key>" });
    const key = bearerKey(header);
    const tenant = key === undefined ? undefined : keys.get(key);
    if (tenant === undefined) throw new AppError("unauthorized", { detail: "The API key is not recognised" });
    c.set("tenant", tenant);
    await next();
  };
}
