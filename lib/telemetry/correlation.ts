/**
 * The correlation id every log line of a request and of its processing
 * carries. Web-standard and dependency-free, so the gateway's request-id
 * middleware can use it as is.
 */

/** A caller's id is reused only when short and printable: it is echoed into headers and logs. */
const ACCEPTABLE_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
/** W3C traceparent: version-traceid-parentid-flags; version ff is invalid, all-zero ids are invalid. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ZERO_TRACE_ID = "0".repeat(32);
const ZERO_SPAN_ID = "0".repeat(16);

/** The trace id of a valid `traceparent` header value, else undefined. */
export function traceIdFromTraceparent(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (!m || m[1] === "ff" || m[2] === ZERO_TRACE_ID || m[3] === ZERO_SPAN_ID) return undefined;
  // Version 00 has exactly four fields; later versions may append more.
  if (m[1] === "00" && value.trim().length !== 55) return undefined;
  return m[2];
}

/** Reads one request header; `c.req.header`, `(n) => request.headers.get(n)` and MsgHdrs-style lookups all fit. */
export type HeaderLookup = (name: string) => string | null | undefined;

export type CorrelationSource = "x-request-id" | "traceparent" | "generated";

/**
 * The request's correlation id: the caller's `X-Request-Id` when acceptable,
 * else the trace id of its `traceparent` (so logs and traces join on one id),
 * else a fresh UUID. The gateway returns it in `X-Request-Id` and puts it in
 * the envelope's `correlationId`, so the processor logs the same id.
 */
export function correlationId(header: HeaderLookup): { id: string; source: CorrelationSource } {
  const given = header("x-request-id");
  if (given != null && ACCEPTABLE_REQUEST_ID.test(given)) return { id: given, source: "x-request-id" };
  const traceId = traceIdFromTraceparent(header("traceparent"));
  if (traceId) return { id: traceId, source: "traceparent" };
  return { id: crypto.randomUUID(), source: "generated" };
}
