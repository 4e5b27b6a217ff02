/**
 * Secrets Herald must read back (a tenant's webhook signing secrets) are
 * stored sealed: AES-256-GCM under a key derived with HKDF-SHA256 from
 * HERALD_TOKEN_SECRET, one key per purpose, so a database dump alone does not
 * hold them. `v1.<iv>.<ciphertext+tag>`, both base64url. The caller binds
 * each value to where it is stored (`context`, as additional data), so a
 * sealed value copied into another row or tenant does not open there.
 * Web Crypto only: it runs on every runtime the gateway does.
 */

import { fromBase64Url, toBase64Url } from "./signing.ts";

const VERSION = "v1";
const IV_BYTES = 12;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const keys = new Map<string, Promise<CryptoKey>>();

/** The AES-256-GCM key of `secret` for `purpose`, derived once per pair. */
export function sealingKey(secret: string, purpose: string): Promise<CryptoKey> {
  const id = `${purpose}\n${secret}`;
  let key = keys.get(id);
  if (key === undefined) {
    key = derive(secret, purpose);
    keys.set(id, key);
    // A failed derivation is not kept: the next call tries again.
    key.catch(() => keys.delete(id));
  }
  return key;
}

async function derive(secret: string, purpose: string): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(`herald sealing key: ${purpose}`) },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** `plaintext` sealed under `key` with a fresh random IV, bound to `context`. */
export async function seal(key: CryptoKey, plaintext: string, context: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(context) }, key, encoder.encode(plaintext));
  return `${VERSION}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(sealed))}`;
}

/** The plaintext, or null: not a sealed value, sealed under another key, or for another context. */
export async function unseal(key: CryptoKey, sealed: string, context: string): Promise<string | null> {
  const [version, ivText, bodyText, ...rest] = sealed.split(".");
  if (version !== VERSION || ivText === undefined || bodyText === undefined || rest.length > 0) return null;
  const iv = fromBase64Url(ivText);
  const body = fromBase64Url(bodyText);
  if (iv === null || iv.length !== IV_BYTES || body === null) return null;
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: iv as Uint8Array<ArrayBuffer>, additionalData: encoder.encode(context) },
      key,
      body as Uint8Array<ArrayBuffer>,
    );
    return decoder.decode(plain);
  } catch {
    return null;
  }
}
