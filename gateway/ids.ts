const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits. Ids sort by
 * creation time, which keeps the primary-key index append-mostly. Built on
 * `crypto.getRandomValues` so it runs on every runtime the gateway targets.
 */
export function uuidv7(now: number = Date.now()): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  // 2^48 ms lasts until the year 10889, so the division below never loses bits.
  const high = Math.floor(now / 2 ** 16);
  bytes[0] = (high >>> 24) & 0xff;
  bytes[1] = (high >>> 16) & 0xff;
  bytes[2] = (high >>> 8) & 0xff;
  bytes[3] = high & 0xff;
  bytes[4] = (now >>> 8) & 0xff;
  bytes[5] = now & 0xff;
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  return formatUuid(bytes);
}

/** The millisecond timestamp inside a UUIDv7. */
export function uuidv7Time(id: string): number {
  return Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);
}

function formatUuid(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) out += "-";
    out += HEX[bytes[i] ?? 0];
  }
  return out;
}

const encoder = new TextEncoder();

/** Lower-case hex SHA-256, synchronous where the runtime has it (the gateway's body hasher). */
export type Sha256Hex = (bytes: Uint8Array<ArrayBuffer>) => string | Promise<string>;

/**
 * 32 hex digits as a UUID with version 8 (RFC 9562's custom layout) and the
 * RFC variant stamped on: digit 12 becomes `8`, digit 16 keeps its low two bits.
 */
function uuidv8(hex: string): string {
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The SHA-256 (hex) of `parts` in Herald's id domain: synchronous when the hasher is, so a keyed request pays no extra await. */
function digest(sha256: Sha256Hex, parts: string[]): string | Promise<string> {
  return sha256(encoder.encode(`herald-notification-id-v1\u0000${parts.join("\u0000")}`));
}

/**
 * The id of the notification a tenant's Idempotency-Key names: a UUIDv8 from
 * the SHA-256 of (tenant, key). Every gateway derives the same id for the
 * same key, whatever the idempotency store remembers, so a retry can only
 * ever name the notification the first request created.
 */
export function idForKey(sha256: Sha256Hex, tenant: string, key: string): string | Promise<string> {
  const hex = digest(sha256, ["single", tenant, key]);
  return typeof hex === "string" ? uuidv8(hex) : hex.then(uuidv8);
}

/**
 * The ids of a keyed batch's items: 96 bits of the SHA-256 of (tenant, key)
 * followed by the item's index, so one digest serves a thousand items and no
 * item id can equal a single request's (another hash domain).
 */
export async function batchIdsForKey(sha256: Sha256Hex, tenant: string, key: string): Promise<(index: number) => string> {
  const base = (await digest(sha256, ["batch", tenant, key])).slice(0, 24);
  return (index: number) => uuidv8(base + index.toString(16).padStart(8, "0"));
}
