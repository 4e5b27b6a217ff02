import { MIN_SCHEDULE_TIME } from "../../schemas/storable.ts";
import type { Cursor } from "../../schemas/views.ts";
import { isUuid } from "../../schemas/storable.ts";

const EXACT_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** A calendar date and time Postgres accepts: no 30 February, no month 13, nothing before Herald's time. */
function isRealTime(exact: string): boolean {
  const ms = Date.parse(exact);
  return ms >= MIN_SCHEDULE_TIME && new Date(ms).toISOString().slice(0, 19) === exact.slice(0, 19);
}

/** Opaque to clients: base64url of a JSON pair, so its shape can change without a new API version. */
export function encodeCursor(cursor: Cursor): string {
  // The JSON is plain ASCII (a timestamp and a UUID), which is what btoa accepts.
  return btoa(JSON.stringify([cursor.createdAt, cursor.id]))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/**
 * Null for anything this gateway did not produce; the values are checked
 * strictly because they end up in SQL casts, where garbage would be a 500.
 */
export function decodeCursor(raw: string): Cursor | null {
  let value: unknown;
  try {
    value = JSON.parse(atob(raw.replaceAll("-", "+").replaceAll("_", "/")));
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [createdAt, id] = value as unknown[];
  if (typeof createdAt !== "string" || typeof id !== "string") return null;
  if (!EXACT_UTC.test(createdAt) || !isRealTime(createdAt) || !isUuid(id)) return null;
  return { createdAt, id };
}
