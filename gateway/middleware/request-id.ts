import type { MiddlewareHandler } from "hono";

/** Context variables set by `requestId()`. */
export interface RequestIdVariables {
  requestId: string;
}

/** A caller's id is reused only when it is short and printable, since it is echoed into headers and logs. */
const ACCEPTABLE = /^[\x21-\x7e]{1,128}$/;

/**
 * Gives every request an id: the caller's `X-Request-Id` when acceptable, else
 * a fresh UUID. It is set as a prepared header, so every response built from
 * this context, error responses included, carries it back.
 */
export function requestId(): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  return async function requestIdMiddleware(c, next) {
    const incoming = c.req.header("x-request-id");
    const id = incoming !== undefined && ACCEPTABLE.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    await next();
  };
}
