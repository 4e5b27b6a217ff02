import { Liquid, type Template } from "liquidjs";
import type { Channel } from "../../schemas/enums.ts";
import type { ChannelContents, TemplateContent } from "../../schemas/recipients.ts";

// Liquid on purpose: it evaluates no JavaScript (no eval, no new Function, so
// it runs on workerd too), reads only own properties of the data, and bounds
// a template's parse size, render time and allocations.

/** One channel's content in one locale, as a template stores it. */
export type ChannelContent<C extends Channel> = NonNullable<ChannelContents[C]>;

/** What each channel's content renders to: the payload of an explicit send without its address (`to`), which the processor adds. */
export interface RenderedPayloads {
  email: { subject: string; body: string; html?: string };
  sms: { body: string };
  push: { title: string; body: string };
  in_app: { title: string; body: string };
  webhook: { url: string; body: unknown };
}
export type RenderedPayload<C extends Channel> = RenderedPayloads[C];

/** What a template's strings see: the send's `data` and the recipient's profile. */
export interface RenderVars {
  data: Record<string, unknown>;
  user: Record<string, unknown>;
}

/** Names a published version's field in the engine's parse cache; drafts have none and are parsed each time. */
export interface RenderKey {
  tenantId: string;
  name: string;
  version: number;
  locale: string;
}

export const TEMPLATE_ERROR_CODES = ["syntax", "render", "limit", "invalid_json", "empty"] as const;
export type TemplateErrorCode = (typeof TEMPLATE_ERROR_CODES)[number];

/** A template that does not parse or render: permanent, the same data fails the same way again. */
export class TemplateRenderError extends Error {
  readonly code: TemplateErrorCode;
  /** The field within the locale's content, e.g. `email.subject`. */
  readonly field: string;
  /** The locale whose content failed, when the thrower knew it. */
  readonly locale: string | undefined;

  constructor(code: TemplateErrorCode, field: string, message: string, opts: { cause?: unknown; locale?: string } = {}) {
    super(`${field}: ${message}`, { cause: opts.cause });
    this.name = "TemplateRenderError";
    this.code = code;
    this.field = field;
    this.locale = opts.locale;
  }

  /** The same error naming the locale: `content.locales.<locale>.<field>` is its path in a template. */
  inLocale(locale: string): TemplateRenderError {
    return new TemplateRenderError(this.code, this.field, this.message.slice(this.field.length + 2), { cause: this.cause, locale });
  }
}

export function isTemplateRenderError(err: unknown): err is TemplateRenderError {
  return err instanceof TemplateRenderError;
}

/** Bounds on one field's work; exceeding one is a `limit` error. */
export interface EngineLimits {
  /** Characters one parse may read (the longest field, an email's html, is 200,000). */
  parseLimit: number;
  /**
   * Milliseconds one render may take, by the clock: generous, because a pause
   * of the whole process (GC, a starved CPU) counts too. workerd's clock stands
   * still while code runs, so there the platform's CPU limit bounds a render.
   */
  renderLimit: number;
  /** Allocation units one render may make (ranges, joins, appends). */
  memoryLimit: number;
  /** Parsed fields of published versions kept, least recently used dropped first. */
  cacheSize: number;
}

export const DEFAULT_LIMITS: EngineLimits = {
  parseLimit: 400_000,
  renderLimit: 1_000,
  memoryLimit: 10_000_000,
  cacheSize: 2_000,
};

/** Two Liquid instances (plain text, and html with output escaping) and a parse cache for published versions. */
export interface TemplateEngine {
  readonly limits: EngineLimits;
  /** Parses one field's source (html: with output escaping); throws a `syntax` or `limit` TemplateRenderError naming `field`. */
  parse(field: string, source: string, html?: boolean): Template[];
  /** Renders parsed templates; throws a `render` or `limit` TemplateRenderError naming `field`. */
  render(field: string, templates: Template[], vars: RenderVars, html?: boolean): string;
  /** `parse` through the cache when `key` names a published version. */
  parsed(field: string, source: string, html: boolean, key: RenderKey | undefined, channel: Channel): Template[];
  /** How many parsed fields the cache holds. */
  readonly cached: number;
}

// Partials and layouts would read files (or fetch URLs in the browser build): a template is one string.
const FILE_TAGS = ["include", "render", "layout", "block"];

function liquid(limits: EngineLimits, html: boolean): Liquid {
  const engine = new Liquid({
    strictFilters: true,
    ownPropertyOnly: true,
    templates: {},
    parseLimit: limits.parseLimit,
    renderLimit: limits.renderLimit,
    memoryLimit: limits.memoryLimit,
    ...(html ? { outputEscape: "escape" as const } : {}),
  });
  for (const tag of FILE_TAGS) delete engine.tags[tag];
  return engine;
}

function classify(err: unknown): { limit: boolean; message: string } {
  const message = err instanceof Error ? err.message : String(err);
  return { limit: /limit exceeded/.test(message), message };
}

/** Builds one engine; the processor keeps it for its life, so a version's fields are parsed once. */
export function createTemplateEngine(limits: Partial<EngineLimits> = {}): TemplateEngine {
  const bounds = { ...DEFAULT_LIMITS, ...limits };
  const text = liquid(bounds, false);
  const html = liquid(bounds, true);
  const cache = new Map<string, Template[]>();

  const engine: TemplateEngine = {
    limits: bounds,
    parse(field, source, isHtml = false) {
      try {
        return (isHtml ? html : text).parse(source);
      } catch (err) {
        const { limit, message } = classify(err);
        throw new TemplateRenderError(limit ? "limit" : "syntax", field, message, { cause: err });
      }
    },
    render(field, templates, vars, isHtml = false) {
      try {
        return String((isHtml ? html : text).renderSync(templates, vars));
      } catch (err) {
        const { limit, message } = classify(err);
        throw new TemplateRenderError(limit ? "limit" : "render", field, message, { cause: err });
      }
    },
    parsed(field, source, isHtml, key, channel) {
      if (key === undefined) return engine.parse(field, source, isHtml);
      const id = `${key.tenantId}\u0000${key.name}\u0000${key.version}\u0000${key.locale}\u0000${channel}\u0000${field}`;
      const hit = cache.get(id);
      if (hit !== undefined) {
        // Re-inserted so the Map's order is least recently used first.
        cache.delete(id);
        cache.set(id, hit);
        return hit;
      }
      const templates = engine.parse(field, source, isHtml);
      cache.set(id, templates);
      if (cache.size > bounds.cacheSize) cache.delete(cache.keys().next().value as string);
      return templates;
    },
    get cached() {
      return cache.size;
    },
  };
  return engine;
}

/**
 * The locales to try, most specific first: the send's `locale` if given,
 * else the user's, each subtag dropped in turn, then `default`
 * (`de-AT` → `de-AT`, `de`, `default`).
 */
export function localeChain(requested: string | undefined, userLocale: string | undefined): string[] {
  const tag = requested || userLocale;
  const chain: string[] = [];
  if (tag) {
    const parts = tag.split("-");
    for (let n = parts.length; n > 0; n--) chain.push(parts.slice(0, n).join("-"));
  }
  chain.push("default");
  return chain;
}

/** The first locale of the chain (matched case-insensitively) with content for the channel, and that content; null when none has it. */
export function pickContent<C extends Channel>(
  content: TemplateContent,
  channel: C,
  chain: readonly string[],
): { locale: string; content: ChannelContent<C> } | null {
  const keys = Object.keys(content.locales);
  for (const wanted of chain) {
    const lower = wanted.toLowerCase();
    const locale = keys.find((k) => k.toLowerCase() === lower);
    const found = locale === undefined ? undefined : content.locales[locale]?.[channel];
    if (locale !== undefined && found !== undefined) return { locale, content: found as ChannelContent<C> };
  }
  return null;
}

type Field = { name: string; html?: boolean; required: boolean };

/** Each channel's fields in the order they render. */
const FIELDS: { [C in Channel]: Field[] } = {
  email: [
    { name: "subject", required: true },
    { name: "text", required: true },
    { name: "html", html: true, required: false },
  ],
  sms: [{ name: "body", required: true }],
  push: [
    { name: "title", required: true },
    { name: "body", required: true },
  ],
  in_app: [
    { name: "title", required: true },
    { name: "body", required: true },
  ],
  webhook: [
    { name: "url", required: true },
    { name: "body", required: true },
  ],
};

/** The source strings of a channel's content, with their field path (`email.subject`) and whether they are html. */
export function fieldsOf(channel: Channel, content: Record<string, unknown>): Array<{ field: string; source: string; html: boolean; required: boolean }> {
  return FIELDS[channel].flatMap((f) => {
    const source = content[f.name];
    return typeof source === "string" ? [{ field: `${channel}.${f.name}`, source, html: f.html === true, required: f.required }] : [];
  });
}

/**
 * Renders one channel's content to its payload; `key` caches the parsed
 * fields of a published version. Throws TemplateRenderError: a field that
 * does not parse or render, a required field that renders empty, a webhook
 * body that is not JSON.
 */
export function renderChannel<C extends Channel>(
  engine: TemplateEngine,
  channel: C,
  content: ChannelContent<C>,
  vars: RenderVars,
  key?: RenderKey,
): RenderedPayload<C> {
  const out: Record<string, string> = {};
  for (const f of fieldsOf(channel, content)) {
    const rendered = engine.render(f.field, engine.parsed(f.field, f.source, f.html, key, channel), vars, f.html);
    if (f.required && rendered.trim() === "") throw new TemplateRenderError("empty", f.field, "rendered empty");
    out[f.field.slice(channel.length + 1)] = rendered;
  }
  return shape(channel, out) as RenderedPayload<C>;
}

function shape(channel: Channel, out: Record<string, string>): RenderedPayloads[Channel] {
  const at = (name: string) => out[name] ?? "";
  switch (channel) {
    case "email":
      // An html part that renders to nothing is left out: the email goes as plain text.
      return { subject: at("subject"), body: at("text"), ...(out.html?.trim() ? { html: out.html } : {}) };
    case "sms":
      return { body: at("body") };
    case "push":
    case "in_app":
      return { title: at("title"), body: at("body") };
    case "webhook":
      return { url: at("url"), body: parseJson(at("body")) };
    default:
      return channel satisfies never;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new TemplateRenderError("invalid_json", "webhook.body", `did not render to JSON (use the json filter for values): ${reason}`, { cause: err });
  }
}
