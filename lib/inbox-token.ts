/**
 * Inbox stream tokens: what a tenant's backend hands its signed-in user's
 * browser instead of the API key. `v1.<claims>.<mac>`, both base64url; the
 * claims are `{t: tenant, u: user id, exp: unix seconds}` and the MAC is
 * HMAC-SHA256 over a purpose label and the encoded claims, so a value the same
 * secret signs for another purpose (an unsubscribe link) never passes here.
 * Web Crypto only: it runs on every runtime the gateway does.
 */

const VERSION = "v1";
const PURPOSE = "herald inbox stream token v1\n";

/** Who a token lets read, and until when. */
export interface InboxTokenClaims {
  tenant: string;
  userId: string;
  /** Expiry, unix seconds. */
  exp: number;
}

/** Why a token was refused; the route answers 401 for each, the tests tell them apart. */
export type InboxTokenRefusal = "malformed" | "forged" | "expired";

export type InboxTokenCheck = { ok: true; claims: InboxTokenClaims } | { ok: false; reason: InboxTokenRefusal };

export interface InboxTokens {
  /** A token for `userId` of `tenant`, valid `ttlSeconds` from `nowMs`. */
  mint(tenant: string, userId: string, ttlSeconds: number, nowMs?: number): Promise<{ token: string; expiresAt: string }>;
  verify(token: string, nowMs?: number): Promise<InboxTokenCheck>;
}

const encoder = new TextEncoder();

/** Mints and checks tokens with HMAC-SHA256 under `secret` (HERALD_TOKEN_SECRET); the key is imported once. */
export function createInboxTokens(secret: string): InboxTokens {
  const key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = async (claims: string) => new Uint8Array(await crypto.subtle.sign("HMAC", await key, encoder.encode(PURPOSE + claims)));

  return {
    async mint(tenant, userId, ttlSeconds, nowMs = Date.now()) {
      const exp = Math.floor(nowMs / 1000) + ttlSeconds;
      const claims = toBase64Url(encoder.encode(JSON.stringify({ t: tenant, u: userId, exp })));
      return { token: `${VERSION}.${claims}.${toBase64Url(await mac(claims))}`, expiresAt: new Date(exp * 1000).toISOString() };
    },

    async verify(token, nowMs = Date.now()) {
      const [version, claims, signature, ...rest] = token.split(".");
      if (version !== VERSION || !claims || !signature || rest.length > 0) return { ok: false, reason: "malformed" };
      const given = fromBase64Url(signature);
      if (given === null || !equalBytes(given, await mac(claims))) return { ok: false, reason: "forged" };
      const parsed = parseClaims(claims);
      if (parsed === null) return { ok: false, reason: "malformed" };
      if (parsed.exp * 1000 <= nowMs) return { ok: false, reason: "expired" };
      return { ok: true, claims: parsed };
    },
  };
}

function parseClaims(encoded: string): InboxTokenClaims | null {
  const bytes = fromBase64Url(encoded);
  if (bytes === null) return null;
  try {
    const raw = JSON.parse(new TextDecoder().decode(bytes)) as { t?: unknown; u?: unknown; exp?: unknown };
    if (typeof raw.t !== "string" || typeof raw.u !== "string" || typeof raw.exp !== "number") return null;
    return { tenant: raw.t, userId: raw.u, exp: raw.exp };
  } catch {
    return null;
  }
}

/** Compares every byte whatever the first difference, so the time taken tells nothing about a forged MAC. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}
