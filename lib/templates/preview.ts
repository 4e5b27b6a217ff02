import { CHANNELS, type Channel } from "../../schemas/enums.ts";
import type { TemplateContent } from "../../schemas/recipients.ts";
import { isTemplateRenderError, localeChain, pickContent, renderChannel, type RenderedPayloads, type RenderVars, type TemplateEngine } from "./render.ts";

/** One channel of a preview: the locale its content came from and what it rendered to. */
export interface PreviewResult<C extends Channel = Channel> {
  locale: string;
  payload: RenderedPayloads[C];
}

/** The channels a template has content for, in any locale. */
export function channelsOf(content: TemplateContent): Channel[] {
  return CHANNELS.filter((c) => Object.values(content.locales).some((l) => l[c] !== undefined));
}

/**
 * Renders each channel as a send would (locale fallback per channel), without
 * sending; a channel whose chain finds no content is left out. Throws the
 * first TemplateRenderError, naming its locale.
 */
export function previewContent(
  engine: TemplateEngine,
  content: TemplateContent,
  opts: { channels: Channel[]; locale?: string; vars: RenderVars },
): Partial<Record<Channel, PreviewResult>> {
  const userLocale = typeof opts.vars.user.locale === "string" ? opts.vars.user.locale : undefined;
  const chain = localeChain(opts.locale, userLocale);
  const results: Partial<Record<Channel, PreviewResult>> = {};
  for (const channel of opts.channels) {
    const picked = pickContent(content, channel, chain);
    if (picked === null) continue;
    try {
      results[channel] = { locale: picked.locale, payload: renderChannel(engine, channel, picked.content, opts.vars) };
    } catch (err) {
      throw isTemplateRenderError(err) ? err.inLocale(picked.locale) : err;
    }
  }
  return results;
}
