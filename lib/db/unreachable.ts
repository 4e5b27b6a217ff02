// Portable (no Bun, no node:*): the gateway's error handler uses it on every runtime.

/** postgres.js's and the socket's codes for a connection that could not be made or was lost. */
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

/**
 * True when Postgres could not be reached or went away mid-statement: a
 * refused or lost connection, a connect timeout, a connection exception
 * (SQLSTATE class 08) or a server shutting down or starting (57P01-57P03).
 * Waiting and asking again is the answer, not a bug report.
 */
export function isUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === "object" && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    if (UNREACHABLE_CODES.has(code) || code.startsWith("08") || ["57P01", "57P02", "57P03"].includes(code)) return true;
  }
  return false;
}
