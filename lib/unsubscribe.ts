import { equalBytes, fromBase64Url, signWithPurpose, toBase64Url } from "./signing.ts";
import { z } from "zod";
import { PREFERENCE_CHANNELS } from "../schemas/enums.ts";

// One-click unsubscribe links (RFC 8058): the claims travel in the link,
// signed with HMAC-SHA256 under HERALD_TOKEN_SECRET, so the gateway trusts
// them without a lookup. The MAC covers a purpose label too, so what the same
// secret signs for another purpose (an inbox stream token) never passes here.
// Web Crypto only: it runs on every gateway runtime.

const PURPOSE = "herald unsubscribe link v1\n";

/** What an unsubscribe link says: whose preference, for which category and channel, valid until `exp` (Unix seconds). */
export const UnsubscribeClaims = z.strictObject({
  tenantId: z.string().min(1),
  userId: z.string().min(1),
  category: z.string().min(1),
  channel: z.enum(PREFERENCE_CHANNELS),
  exp: z.number().int().positive(),
});
export type UnsubscribeClaims = z.infer<typeof UnsubscribeClaims>;

/** Why a link was refused: not a token at all, a signature that does not match, or past its `exp`. */
export type UnsubscribeFailure = { ok: false; reason: "malformed" | "forged" | "expired" };
export type UnsubscribeVerdict = { ok: true; claims: UnsubscribeClaims } | UnsubscribeFailure;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
async function sign(secret: string, payload: string): Promise<Uint8Array> {
  return signWithPurpose(secret, PURPOSE, payload);
}

const Wire = z.object({ t: z.string(), u: z.string(), c: z.string(), ch: z.string(), exp: z.number() });

/**
 * A URL-safe token carrying the claims: the claims as base64url JSON, a dot,
 * and the base64url HMAC-SHA256 of the purpose label and that first part.
 */
export async function signUnsubscribe(secret: string, claims: UnsubscribeClaims): Promise<string> {
  const { tenantId: t, userId: u, category: c, channel: ch, exp } = claims;
  const payload = toBase64Url(encoder.encode(JSON.stringify({ t, u, c, ch, exp } satisfies z.infer<typeof Wire>)));
  return `${payload}.${toBase64Url(await sign(secret, payload))}`;
}

/** The claims of a token `signUnsubscribe` made with this secret and not past its `exp` at `nowMs`, or why not. */
export async function verifyUnsubscribe(secret: string, token: string, nowMs: number): Promise<UnsubscribeVerdict> {
  const [payload, signature, ...rest] = token.split(".");
  if (payload === undefined || signature === undefined || rest.length > 0 || payload === "") return { ok: false, reason: "malformed" };
  const given = fromBase64Url(signature);
  if (given === null) return { ok: false, reason: "malformed" };
  // The signature first: nothing of an unsigned payload is read.
  if (!equalBytes(given, await sign(secret, payload))) return { ok: false, reason: "forged" };
  const bytes = fromBase64Url(payload);
  let wire: z.ZodSafeParseResult<z.infer<typeof Wire>>;
  try {
    wire = Wire.safeParse(bytes === null ? null : JSON.parse(decoder.decode(bytes)));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  const { t: tenantId, u: userId, c: category, ch: channel, exp } = wire.data ?? {};
  const claims = UnsubscribeClaims.safeParse({ tenantId, userId, category, channel, exp });
  if (!claims.success) return { ok: false, reason: "malformed" };
  if (claims.data.exp * 1000 <= nowMs) return { ok: false, reason: "expired" };
  return { ok: true, claims: claims.data };
}

/** The link a message carries: the gateway's `POST /v1/unsubscribe/:token` (and its `GET` page). */
export function unsubscribeUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/v1/unsubscribe/${token}`;
}
