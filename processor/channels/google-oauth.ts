import { z } from "zod";
import { parseRetryAfter } from "./http-response.ts";

/**
 * The fields of a Google service-account key file that the JWT bearer grant
 * uses; the file's other fields are ignored. Parse the key file with it at
 * startup so that a bad file fails fast, naming the field.
 */
export const ServiceAccountKey = z.object({
  project_id: z.string().min(1),
  client_email: z.email(),
  private_key_id: z.string().min(1),
  private_key: z.string().regex(/-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----/, "must be a PKCS#8 PEM private key"),
  token_uri: z.url({ protocol: /^https?$/ }),
});
export type ServiceAccountKey = z.infer<typeof ServiceAccountKey>;

/** The token endpoint refused, failed or could not be reached. */
export class TokenGrantError extends Error {
  override readonly name = "TokenGrantError";
  constructor(
    message: string,
    /** The endpoint's `Retry-After`, if it sent one. */
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface TokenSource {
  /** A cached access token, or a fresh one; `signal` bounds this caller's wait only. */
  token(signal: AbortSignal): Promise<string>;
  /** Drops the cached token (the API refused it); with `rejected`, only if it is still that one. */
  invalidate(rejected?: string): void;
}

export interface TokenSourceOptions {
  serviceAccount: ServiceAccountKey;
  /** OAuth scope(s), space-separated. */
  scope: string;
  /** Bounds one grant, which callers share; default 10 000 ms. */
  grantTimeoutMs?: number;
  /** Injected for tests: the global fetch otherwise. */
  fetch?: typeof fetch;
  /** Injected for tests: epoch milliseconds. */
  now?: () => number;
}

/** Google allows an assertion at most one hour of life. */
const ASSERTION_LIFETIME_S = 3600;
/** Refresh this long before expiry (at most half the token's life), so a token never expires mid-call. */
const EARLY_REFRESH_MS = 60_000;

const TokenResponse = z.object({ access_token: z.string().min(1), expires_in: z.number().positive() });
// RFC 6749 §5.2; Google's descriptions name the key or clock problem, never a notification.
const OAuthError = z.object({ error: z.string(), error_description: z.string().optional() });

/**
 * OAuth2 access tokens for a service account (RFC 7523 JWT bearer grant,
 * RS256-signed with WebCrypto). Tokens are cached until shortly before they
 * expire; concurrent callers share one in-flight grant; a failed grant is not
 * cached, so the next caller tries again.
 */
export function createServiceAccountTokenSource(opts: TokenSourceOptions): TokenSource {
  const sa = opts.serviceAccount;
  const doFetch = opts.fetch ?? fetch;
  const now = opts.now ?? Date.now;
  let key: Promise<CryptoKey> | undefined;
  let cached: { value: string; refreshAt: number } | undefined;
  let inflight: Promise<string> | undefined;

  async function grant(): Promise<string> {
    key ??= importPkcs8(sa.private_key);
    const iat = Math.floor(now() / 1000);
    const header = { alg: "RS256", typ: "JWT", kid: sa.private_key_id };
    const claims = { iss: sa.client_email, scope: opts.scope, aud: sa.token_uri, iat, exp: iat + ASSERTION_LIFETIME_S };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", await key, new TextEncoder().encode(input));
    const form = new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: `${input}.${b64url(signature)}` });
    let res: Response;
    try {
      res = await doFetch(sa.token_uri, { method: "POST", body: form, redirect: "manual", signal: AbortSignal.timeout(opts.grantTimeoutMs ?? 10_000) });
    } catch (err) {
      throw new TokenGrantError(`token endpoint unreachable: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
    }
    const body: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const oauth = OAuthError.safeParse(body).data;
      const why = oauth ? ` (${oauth.error}${oauth.error_description ? `: ${oauth.error_description.slice(0, 200)}` : ""})` : "";
      throw new TokenGrantError(`token endpoint answered HTTP ${res.status}${why}`, parseRetryAfter(res.headers.get("retry-after")));
    }
    const parsed = TokenResponse.safeParse(body);
    if (!parsed.success) throw new TokenGrantError("token endpoint answered without access_token/expires_in");
    const lifetimeMs = parsed.data.expires_in * 1000;
    cached = { value: parsed.data.access_token, refreshAt: now() + lifetimeMs - Math.min(EARLY_REFRESH_MS, lifetimeMs / 2) };
    return parsed.data.access_token;
  }

  return {
    token(signal) {
      if (cached && now() < cached.refreshAt) return Promise.resolve(cached.value);
      inflight ??= grant().finally(() => {
        inflight = undefined;
      });
      return untilAborted(inflight, signal);
    },
    invalidate(rejected) {
      if (rejected === undefined || cached?.value === rejected) cached = undefined;
    },
  };
}

/** The signing key of a key file's `private_key`; start-up calls it too, so a key that cannot sign stops the start. */
export function importPkcs8(pem: string): Promise<CryptoKey> {
  // A key pasted into an env var often keeps its newlines as literal `\n`.
  const der = Buffer.from(pem.replace(/-----(BEGIN|END) PRIVATE KEY-----|\\n|\s/g, ""), "base64");
  return crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]).catch((err: unknown) => {
    throw new TokenGrantError("private_key is not an RSA PKCS#8 key", undefined, { cause: err });
  });
}

function b64url(data: string | ArrayBuffer): string {
  return Buffer.from(typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data)).toString("base64url");
}

/** Waits for a shared promise, but lets one caller stop waiting without cancelling it for the others. */
function untilAborted<T>(shared: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const settle = () => signal.removeEventListener("abort", onAbort);
    void shared.then(
      (value) => {
        settle();
        resolve(value);
      },
      (err: unknown) => {
        settle();
        reject(err);
      },
    );
  });
}
