/**
 * Managed API keys as text: `hk_live_`, 32 random base62 characters (190
 * bits), then 6 base62 characters of the CRC-32 of the random part. The
 * checksum lets a gateway refuse a mistyped or invented key without asking
 * Postgres, so guessing costs the attacker a request and Herald nothing;
 * the typed prefix lets secret scanners find leaked keys.
 */

export const API_KEY_PREFIX = "hk_live_";
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_CHARS = 32;
const CHECK_CHARS = 6;
const SHAPE = new RegExp(`^${API_KEY_PREFIX}[0-9A-Za-z]{${RANDOM_CHARS + CHECK_CHARS}}$`);
/** How many characters of a key lists show: the prefix and 4 of the random part. */
const SHOWN = API_KEY_PREFIX.length + 4;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = (CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function base62(value: number, width: number): string {
  let out = "";
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = ALPHABET.charAt(rest % 62) + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

/** A new key from the platform's CSPRNG; base62 by rejection sampling, so every character is uniform. */
export function generateApiKey(): string {
  let random = "";
  while (random.length < RANDOM_CHARS) {
    for (const byte of crypto.getRandomValues(new Uint8Array(48))) {
      if (byte < 248 && random.length < RANDOM_CHARS) random += ALPHABET.charAt(byte % 62);
    }
  }
  return `${API_KEY_PREFIX}${random}${base62(crc32(random), CHECK_CHARS)}`;
}

/** True when `key` has a managed key's shape and its checksum matches: only such keys are looked up. */
export function isWellFormedApiKey(key: string): boolean {
  if (!SHAPE.test(key)) return false;
  const random = key.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + RANDOM_CHARS);
  return key.slice(-CHECK_CHARS) === base62(crc32(random), CHECK_CHARS);
}

/** What lists and logs show of a key: `hk_live_AbCd`. */
export function apiKeyPrefix(key: string): string {
  return key.slice(0, SHOWN);
}
