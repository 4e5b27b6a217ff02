import { isOptedIn, preferencesAmong, prefKey } from "../lib/db/preferences.ts";
import { usersAmong } from "../lib/db/users.ts";
import { versionKeyOf } from "../lib/db/templates.ts";
import { createVersionCache } from "../lib/templates/cache.ts";
import { createTemplateEngine, isTemplateRenderError, localeChain, pickContent, renderChannel } from "../lib/templates/render.ts";
import { signUnsubscribe, unsubscribeUrl } from "../lib/unsubscribe.ts";
import type { Sql } from "../schemas/database.ts";
import { optInKey, type Resolver } from "./resolve.ts";

export interface ResolverOptions {
  /** Signs one-click unsubscribe links (HERALD_TOKEN_SECRET); with `publicUrl`, marketing emails carry one. */
  tokenSecret?: string;
  /** Where the gateway's `/v1/unsubscribe/:token` is reached (HERALD_PUBLIC_URL). */
  publicUrl?: string;
  unsubscribeTtlDays: number;
}

const DAY_MS = 86_400_000;

/**
 * The processor's resolver on Postgres: recipients and preferences read once
 * per batch, template versions cached for the life of the process (they never
 * change), parsed templates cached by the engine per version and locale.
 */
export function createResolver(sql: Sql, opts: ResolverOptions): Resolver {
  const versions = createVersionCache(sql);
  const engine = createTemplateEngine();
  const { tokenSecret, publicUrl } = opts;
  const resolver: Resolver = {
    // Keyed by lib/db's userKey, which the resolve step reads them by.
    recipients: (keys) => usersAmong(sql, keys),
    async optedIn(keys) {
      const entries = await preferencesAmong(sql, keys);
      return new Map(
        keys.map((k) => [optInKey(k.tenantId, k.userId, k.category, k.channel), isOptedIn(entries.get(prefKey(k.tenantId, k.userId, k.category)), k.channel)]),
      );
    },
    async render(e, payload, recipient) {
      const key = { tenantId: e.tenantId, name: payload.template.name, version: payload.template.version };
      const version = (await versions.among([key])).get(versionKeyOf(key));
      if (version === undefined) return { ok: false, error: "the version is gone" };
      const picked = pickContent(version.content, e.channel, localeChain(payload.locale, recipient?.locale ?? undefined));
      if (picked === null) return { ok: false, error: `no ${e.channel} content` };
      const user = recipient ? { ...recipient.data, id: e.userId, locale: recipient.locale, timeZone: recipient.timeZone } : { id: e.userId };
      try {
        const rendered = renderChannel(engine, e.channel, picked.content, { data: payload.data, user }, { ...key, locale: picked.locale });
        return { ok: true, payload: rendered as Record<string, unknown>, locale: picked.locale };
      } catch (err) {
        if (isTemplateRenderError(err)) return { ok: false, error: err.message };
        throw err;
      }
    },
  };
  if (tokenSecret !== undefined && publicUrl !== undefined) {
    resolver.unsubscribeUrl = async (tenantId, userId, category) => {
      const exp = Math.floor((Date.now() + opts.unsubscribeTtlDays * DAY_MS) / 1000);
      return unsubscribeUrl(publicUrl, await signUnsubscribe(tokenSecret, { tenantId, userId, category, channel: "email", exp }));
    };
  }
  return resolver;
}
