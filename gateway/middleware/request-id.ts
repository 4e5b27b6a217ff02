import type { MiddlewareHandler } from "hono";
import { correlationId } from "../../lib/telemetry/correlation.ts";

/** Context variables set by `requestId()`. */
export interface RequestIdVariables {
  requestId: string;
}

/**
 * Gives every request its correlation id: the caller's `X-Request-Id` when
 * acceptable, else the trace id of its `traceparent` (logs and traces then
 * join on one id), else a fresh UUID. It is set as a prepared header, so
 * every response built from this context, error responses included, carries
 * it back; the accept path puts it in the envelope's `correlationId`, so the
 * processor's lines carry it too.
 */
export function requestId(): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  return async function requestIdMiddleware(c, next) {
    const { id } = correlationId((name) => c.req.header(name));
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    await next();
  };
}
