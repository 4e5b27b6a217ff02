import { Hono, type Context } from "hono";
import { applyUnsubscribe } from "../../lib/db/preferences.ts";
import { verifyUnsubscribe, type UnsubscribeClaims } from "../../lib/unsubscribe.ts";
import { readLimited } from "../body.ts";
import type { BaseEnv } from "../context.ts";
import { AppError } from "../errors.ts";
import { recipientDeps } from "../recipient-input.ts";

/** The 200 of a one-click unsubscribe: whether the preference is now off, or the category cannot be left. */
export interface UnsubscribeAnswer {
  result: "unsubscribed" | "required";
  category: string;
  channel: UnsubscribeClaims["channel"];
}

// The page and the answer name a user's preference: nobody caches them, and the link in the URL goes nowhere else.
const PRIVATE = {
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-robots-tag": "noindex",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

/**
 * `/v1/unsubscribe/:token`: the one-click unsubscribe links of marketing
 * email (RFC 8058). No API key: the signed token names the tenant, user,
 * category and channel. `POST` (the mail client's `List-Unsubscribe=One-Click`,
 * or the page's button) turns the preference off, idempotently; `GET` only
 * shows a page with that button, because mail scanners follow links.
 */
export function unsubscribeRoutes(): Hono<BaseEnv> {
  const routes = new Hono<BaseEnv>();

  routes.get("/:token", async (c) => {
    const claims = await verified(c);
    return c.html(page(claims), 200, PRIVATE);
  });

  routes.post("/:token", async (c) => {
    // The body is `List-Unsubscribe=One-Click` or nothing; read within the limit, then ignored.
    await readLimited(c.req.raw, c.var.deps.options.bodyLimitBytes);
    const claims = await verified(c);
    const { tenantId, userId, category, channel } = claims;
    const result = await applyUnsubscribe(recipientDeps(c).db, tenantId, userId, category, channel);
    if (prefersHtml(c.req.header("accept"))) return c.html(done(result, claims), 200, PRIVATE);
    return c.json({ result, category, channel } satisfies UnsubscribeAnswer, 200, PRIVATE);
  });

  return routes;
}

/**
 * The token's claims, or why not: 401 for what Herald did not sign, 410 for
 * a link past its lifetime (it was genuine; a new message carries a new one).
 */
async function verified(c: Context<BaseEnv>): Promise<UnsubscribeClaims> {
  const { tokenSecret } = recipientDeps(c);
  if (tokenSecret === undefined) throw new AppError("unavailable", { detail: "One-click unsubscribe is off: set HERALD_TOKEN_SECRET on the gateway" });
  const verdict = await verifyUnsubscribe(tokenSecret, c.req.param("token") ?? "", Date.now());
  if (verdict.ok) return verdict.claims;
  switch (verdict.reason) {
    case "expired":
      throw new AppError("link_expired", { detail: "This unsubscribe link has expired; use the newest message's link or your settings" });
    case "malformed":
    case "forged":
      throw new AppError("invalid_link", { detail: "This is not an unsubscribe link Herald signed" });
    default:
      return verdict.reason satisfies never;
  }
}

/** A browser's form post asks for a page; a mail client's one-click post does not care. */
function prefersHtml(accept: string | undefined): boolean {
  return accept !== undefined && /\btext\/html\b/i.test(accept);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const what = (claims: UnsubscribeClaims) =>
  `${escapeHtml(claims.category)} ${claims.channel === "*" ? "notifications on every channel" : `${claims.channel.replace("_", "-")} notifications`}`;

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}button{font:inherit;padding:.5rem 1rem}</style></head><body>${body}</body></html>`;
}

/** The GET page: one button that POSTs to this same URL, as the mail client's one-click would. */
function page(claims: UnsubscribeClaims): string {
  return layout(
    "Unsubscribe",
    `<h1>Unsubscribe</h1><p>Stop receiving ${what(claims)}?</p><form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
  );
}

function done(result: UnsubscribeAnswer["result"], claims: UnsubscribeClaims): string {
  return result === "unsubscribed"
    ? layout("Unsubscribed", `<h1>Unsubscribed</h1><p>You will no longer receive ${what(claims)}.</p>`)
    : layout("Cannot unsubscribe", `<h1>Cannot unsubscribe</h1><p>${what(claims)} are required and cannot be turned off.</p>`);
}
