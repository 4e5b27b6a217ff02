/**
 * Inbox stream tokens: what a tenant's backend hands its signed-in user's
 * browser instead of the API key. `v1.<claims>.<mac>`, both base64url; the
 * claims are `{t: tenant, u: user id, exp: unix seconds}` and the MAC is
 * HMAC-SHA256 over a purpose label and the encoded claims, so a value the same
 * secret signs for another purpose (an unsubscribe link) never passes here.
 * Web Crypto only: it runs on every runtime the gateway does.
 */

import { equalBytes, fromBase64Url, signWithPurpose, toBase64Url } from "./signing.ts";

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
  const mac = (claims: string) => signWithPurpose(secret, PURPOSE, claims);

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
