import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/** The policy of every answer that does not bring its own: JSON and problem+json load nothing and are framed nowhere. */
export const STRICT_CSP = "default-src 'none'; frame-ancestors 'none'";

/** A year, the floor browsers' preload lists ask for. */
const HSTS_MAX_AGE_S = 31_536_000;

export interface SecurityHeadersOptions {
  /** `Strict-Transport-Security` max-age in seconds; default a year. */
  hstsMaxAgeSeconds?: number;
}

/**
 * Hono's `secureHeaders` with the gateway's choices: nothing may frame a
 * page (`DENY`), no referrer leaves (links carry signed tokens), and the
 * strict CSP unless the route set its own (`/docs` and the unsubscribe page
 * do: `overwrite: false` keeps theirs). HSTS is added here, not there,
 * because its options are static and it belongs only on an https answer:
 * the request's own scheme, or a proxy's `X-Forwarded-Proto` (a forged one
 * only sends HSTS over http, which browsers ignore).
 */
export function securityHeaders(options: SecurityHeadersOptions = {}): MiddlewareHandler {
  const hsts = `max-age=${options.hstsMaxAgeSeconds ?? HSTS_MAX_AGE_S}; includeSubDomains`;
  const base = secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    strictTransportSecurity: false,
    overwrite: false,
  });
  return async function securityHeadersMiddleware(c, next) {
    await base(c, next);
    if (isHttps(c.req.raw)) c.res.headers.set("strict-transport-security", hsts);
  };
}

/** True when the client reached us over TLS, directly or through a proxy that terminated it. */
export function isHttps(req: Request): boolean {
  if (req.url.startsWith("https:")) return true;
  // A chain of proxies lists each hop's scheme; the first is the client's.
  return req.headers.get("x-forwarded-proto")?.split(",", 1)[0]?.trim().toLowerCase() === "https";
}
