import { readFile } from "node:fs/promises";
import { ConfigError } from "../../schemas/config.ts";

/** APNs refuses a token older than an hour and a team that re-signs more often than every 20 minutes: re-sign in between. */
export const PROVIDER_TOKEN_REUSE_MS = 50 * 60_000;
/** A token APNs refused is re-signed at once, but not again within this long, so that a bad key cannot churn tokens. */
const FORCED_REFRESH_GAP_MS = 20 * 60_000;

const PEM = /-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----/;

/** The ES256 signing key of a `.p8` file's PEM text. */
export function importApnsKey(pem: string): Promise<CryptoKey> {
  // A key pasted into an env var often keeps its newlines as literal `\n`.
  const der = Buffer.from(pem.replace(/-----(BEGIN|END) PRIVATE KEY-----|\\n|\s/g, ""), "base64");
  return crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
}

/**
 * The APNs signing key named by HERALD_APNS_PRIVATE_KEY: the `.p8` PEM text
 * itself, or the path of the `.p8` file. Returns the PEM text; a value that is
 * neither, or a key that is not EC P-256 PKCS#8, stops the start naming the key.
 */
export async function loadApnsKey(value: string): Promise<string> {
  const key = "HERALD_APNS_PRIVATE_KEY";
  const fail = (why: string) => new ConfigError([key], `invalid configuration:\n  ${key}: ${why}`);
  // Never echo the value: a mangled key would land in the log.
  const pem = value.includes("-----BEGIN")
    ? value
    : await readFile(value, "utf8").catch((err: unknown) => {
        const code = (err as { code?: unknown }).code;
        throw fail(`neither PEM text nor a readable .p8 file${typeof code === "string" ? ` (${code})` : ""}`);
      });
  if (!PEM.test(pem)) throw fail("holds no PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----) as Apple's .p8 file does");
  await importApnsKey(pem).catch(() => {
    throw fail("not an EC P-256 PKCS#8 key (the .p8 file Apple issues for APNs)");
  });
  return pem;
}

export interface ProviderTokenOptions {
  keyId: string;
  teamId: string;
  /** The `.p8` PEM text. */
  privateKey: string;
  /** Injected for tests: epoch milliseconds. */
  now?: () => number;
}

export interface ProviderTokens {
  /** The current provider token, signed anew once it is `PROVIDER_TOKEN_REUSE_MS` old. */
  token(): Promise<string>;
  /**
   * APNs refused `rejected`. True when the next `token()` gives another one:
   * someone already replaced it, or it is re-signed now (at most once per gap).
   */
  refused(rejected: string): boolean;
}

/** APNs provider tokens: ES256 JWTs with `kid` and `iss`, shared by every request of the sender. */
export function createProviderTokens(opts: ProviderTokenOptions): ProviderTokens {
  const now = opts.now ?? Date.now;
  let key: Promise<CryptoKey> | undefined;
  let cached: { value: string; issuedAt: number } | undefined;
  let inflight: Promise<string> | undefined;
  let lastForced = Number.NEGATIVE_INFINITY;

  async function sign(): Promise<string> {
    key ??= importApnsKey(opts.privateKey);
    const issuedAt = now();
    const header = { alg: "ES256", kid: opts.keyId };
    const claims = { iss: opts.teamId, iat: Math.floor(issuedAt / 1000) };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    // WebCrypto's ECDSA signature is already JWS's raw r||s.
    const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, await key, new TextEncoder().encode(input));
    const value = `${input}.${b64url(signature)}`;
    cached = { value, issuedAt };
    return value;
  }

  return {
    token() {
      if (cached && now() - cached.issuedAt < PROVIDER_TOKEN_REUSE_MS) return Promise.resolve(cached.value);
      inflight ??= sign().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
    refused(rejected) {
      if (cached?.value !== rejected) return true;
      if (now() - lastForced < FORCED_REFRESH_GAP_MS) return false;
      lastForced = now();
      cached = undefined;
      return true;
    },
  };
}

function b64url(data: string | ArrayBuffer): string {
  return Buffer.from(typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data)).toString("base64url");
}
