import { getUser } from "../../lib/db/users.ts";
import { createTemplateCache } from "../../lib/templates/cache.ts";
import { validateVariables } from "../../lib/templates/variables.ts";
import type { Database } from "../../schemas/database.ts";
import type { TemplateSendDeps } from "../accept-template.ts";

/** How long a gateway keeps a template's published version before reading it again; a publish reaches every gateway within this. */
export const TEMPLATE_CACHE_TTL_MS = 5_000;

/** Sends by template on Postgres: published versions cached briefly, the variables checked, the recipient read. */
export function templateSendDeps(db: Database): TemplateSendDeps {
  const templates = createTemplateCache(db, TEMPLATE_CACHE_TTL_MS);
  return {
    published: (tenant, name) => templates.published(tenant, name),
    validate(_tenant, _name, published, data) {
      const result = validateVariables(published.content.variables, data);
      return result.ok ? [] : result.errors;
    },
    async recipient(tenant, userId) {
      const user = await getUser(db, tenant, userId);
      return user === null ? null : { email: user.email !== null, sms: user.phone !== null, push: user.devices.length > 0 };
    },
  };
}
