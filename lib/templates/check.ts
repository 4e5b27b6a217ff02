import { CHANNELS } from "../../schemas/enums.ts";
import type { TemplateContent } from "../../schemas/recipients.ts";
import { fieldsOf, isTemplateRenderError, type TemplateEngine } from "./render.ts";
import { checkSchema, type VariableError } from "./variables.ts";

/**
 * Parses every string of the content as it would render (the email's html
 * with escaping); one error per string that does not parse, its path from the
 * request body (`content.locales.de.email.subject`).
 */
export function syntaxErrors(engine: TemplateEngine, content: TemplateContent): VariableError[] {
  const errors: VariableError[] = [];
  for (const [locale, channels] of Object.entries(content.locales)) {
    for (const channel of CHANNELS) {
      const given = channels[channel];
      if (given === undefined) continue;
      for (const f of fieldsOf(channel, given)) {
        try {
          engine.parse(f.field, f.source, f.html);
        } catch (err) {
          if (!isTemplateRenderError(err)) throw err;
          errors.push({ path: `content.locales.${locale}.${f.field}`, message: err.message.slice(f.field.length + 2) });
        }
      }
    }
  }
  return errors;
}

/**
 * Why a draft cannot be published, empty when it can: its strings parse, its
 * variables are a usable JSON Schema, and `default` has content for every
 * channel any locale has, so each locale's fallback ends in content.
 */
export function publishProblems(engine: TemplateEngine, content: TemplateContent): VariableError[] {
  const problems = syntaxErrors(engine, content);
  for (const e of checkSchema(content.variables)) problems.push({ path: e.path ? `content.variables.${e.path}` : "content.variables", message: e.message });
  const fallback = content.locales.default ?? {};
  const channels = CHANNELS.filter((ch) => Object.values(content.locales).some((l) => l[ch] !== undefined));
  if (channels.length === 0) problems.push({ path: "content.locales.default", message: "must have content for at least one channel" });
  for (const ch of channels) {
    if (fallback[ch] === undefined)
      problems.push({ path: `content.locales.default.${ch}`, message: "is required: another locale has this channel, and every locale falls back to default" });
  }
  return problems;
}
