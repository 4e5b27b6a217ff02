import { reachableBy } from "../../lib/db/users.ts";
import type { TemplateCache } from "../../lib/templates/cache.ts";
import { validateVariables } from "../../lib/templates/variables.ts";
import type { Sql } from "../../schemas/database.ts";
import type { TemplateSendDeps } from "../accept-template.ts";

/** How long a gateway keeps a template's published version before reading it again; a publish reaches every gateway within this. */
export const TEMPLATE_CACHE_TTL_MS = 5_000;

/**
 * Sends by template on Postgres: published versions from `templates` (the
 * cache the template routes invalidate on publish, so this gateway sees a
 * publish at once and the others within its TTL), the variables checked, the
 * recipient read.
 */
export function templateSendDeps(sql: Sql, templates: TemplateCache): TemplateSendDeps {
  return {
    published: (tenant, name) => templates.published(tenant, name),
    validate(_tenant, _name, published, data) {
      const result = validateVariables(published.content.variables, data);
      return result.ok ? [] : result.errors;
    },
    recipient: (tenant, userId) => reachableBy(sql, tenant, userId),
  };
}
