import { Hono, type Context } from "hono";
import { z } from "zod";
import {
  createTemplate,
  decodeNameCursor,
  getTemplate,
  getVersion,
  isTemplateExistsError,
  isTemplateNotPublishableError,
  listTemplates,
  publishTemplate,
  putDraft,
} from "../../lib/db/templates.ts";
import { recorded, type AuditEntry } from "../../lib/db/audit.ts";
import { syntaxErrors } from "../../lib/templates/check.ts";
import { channelsOf, previewContent } from "../../lib/templates/preview.ts";
import { isTemplateRenderError, type TemplateEngine } from "../../lib/templates/render.ts";
import { checkSchema, validateVariables } from "../../lib/templates/variables.ts";
import { CHANNELS } from "../../schemas/enums.ts";
import { Locale, Slug, TemplateDraft, type TemplateContent } from "../../schemas/recipients.ts";
import { auditContext } from "../audit-context.ts";
import { readJsonBody } from "../body.ts";
import type { TemplateDeps, TenantEnv } from "../context.ts";
import { AppError, invalidBody, invalidQuery, type FieldError } from "../errors.ts";

const jsonObject = z.record(z.string(), z.unknown());

/** The body of `POST /v1/templates/:name/preview`; the OpenAPI document is generated from it. */
export const PreviewRequest = z.strictObject({
  data: jsonObject.default({}),
  /** A sample recipient profile, as the template's `user.*` sees it. */
  user: jsonObject.default({}),
  locale: Locale.optional(),
  channel: z.enum(CHANNELS).optional(),
  version: z.union([z.number().int().min(1), z.literal("draft")]).default("draft"),
});

const ListParams = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(512).optional(),
});

const invalid = (errors: FieldError[], detail: string) => new AppError("invalid_body", { detail, errors });
const noTemplate = (name: string) => new AppError("not_found", { detail: `No template named ${name}` });

function templateDeps(c: Context<TenantEnv>): TemplateDeps {
  const deps = c.var.deps.templates;
  if (deps === undefined) throw new AppError("unavailable", { detail: "Templates are not configured on this gateway" });
  return deps;
}

/** A change of the tenant's template, for the audit log: its name, and the category or version, never the content. */
function templateEntry(c: Context<TenantEnv>, action: string, name: string, details: Record<string, unknown>): AuditEntry {
  return { ...auditContext(c), tenantId: c.var.tenant, action, target: name, details };
}

/** The name in the path; one that could not have been created answers 404 like a missing one. */
function nameOf(c: Context<TenantEnv>): string {
  const name = c.req.param("name") ?? "";
  if (!Slug.safeParse(name).success) throw noTemplate(name);
  return name;
}

/** A draft from the body: its shape, then every string's Liquid syntax (400 naming the field). */
async function readDraft(c: Context<TenantEnv>, engine: TemplateEngine): Promise<TemplateDraft> {
  const parsed = TemplateDraft.safeParse(await readJsonBody(c.req.raw, c.var.deps.options.bodyLimitBytes));
  if (!parsed.success) throw invalidBody(parsed.error);
  const errors = syntaxErrors(engine, parsed.data.content);
  if (errors.length > 0) throw invalid(errors, "A template string is not valid Liquid");
  return parsed.data;
}

/** `/v1/templates`: drafts, published versions, previews. Another tenant's template answers as a missing one. */
export function templateRoutes(): Hono<TenantEnv> {
  const routes = new Hono<TenantEnv>();

  routes.post("/", async (c) => {
    const { db, engine } = templateDeps(c);
    const { name, category, content } = await readDraft(c, engine);
    if (name === undefined) throw invalid([{ path: "name", message: "is required" }], "The request body failed validation");
    try {
      const created = await recorded(
        db,
        (tx) => createTemplate(tx, c.var.tenant, { name, category, content }),
        () => templateEntry(c, "template.created", name, { category }),
      );
      return c.json(created, 201);
    } catch (err) {
      if (isTemplateExistsError(err)) throw new AppError("template_exists", { detail: err.message });
      throw err;
    }
  });

  routes.get("/", async (c) => {
    const parsed = ListParams.safeParse(c.req.query());
    if (!parsed.success) throw invalidQuery(parsed.error);
    const after = parsed.data.cursor === undefined ? undefined : decodeNameCursor(parsed.data.cursor);
    if (after === null) throw invalidQuery([{ path: "cursor", message: "Not a cursor from this API" }]);
    return c.json(await listTemplates(templateDeps(c).db, c.var.tenant, { limit: parsed.data.limit, ...(after ? { after } : {}) }));
  });

  routes.get("/:name", async (c) => {
    const name = nameOf(c);
    const template = await getTemplate(templateDeps(c).db, c.var.tenant, name);
    if (template === null) throw noTemplate(name);
    return c.json(template);
  });

  routes.put("/:name", async (c) => {
    const { db, engine } = templateDeps(c);
    const name = c.req.param("name");
    const slug = Slug.safeParse(name);
    if (!slug.success) throw invalid([{ path: "name", message: slug.error.issues[0]?.message ?? "is not a template name" }], "Invalid template name");
    const draft = await readDraft(c, engine);
    if (draft.name !== undefined && draft.name !== name)
      throw invalid([{ path: "name", message: "must match the name in the path" }], "The request body failed validation");
    const { created, template } = await recorded(
      db,
      (tx) => putDraft(tx, c.var.tenant, name, { category: draft.category, content: draft.content }),
      (put) => templateEntry(c, put.created ? "template.created" : "template.updated", name, { category: draft.category }),
    );
    return c.json(template, created ? 201 : 200);
  });

  routes.post("/:name/publish", async (c) => {
    const deps = templateDeps(c);
    const name = nameOf(c);
    try {
      const version = await recorded(
        deps.db,
        (tx) => publishTemplate(tx, c.var.tenant, name, deps.engine),
        (v) => (v === null ? null : templateEntry(c, "template.published", name, { version: v })),
      );
      if (version === null) throw noTemplate(name);
      deps.published?.(c.var.tenant, name);
      return c.json({ name, version });
    } catch (err) {
      if (isTemplateNotPublishableError(err)) throw new AppError("template_invalid", { detail: "The draft cannot be published", errors: err.errors });
      throw err;
    }
  });

  routes.post("/:name/preview", async (c) => {
    const { db, engine } = templateDeps(c);
    const name = nameOf(c);
    const parsed = PreviewRequest.safeParse(await readJsonBody(c.req.raw, c.var.deps.options.bodyLimitBytes));
    if (!parsed.success) throw invalidBody(parsed.error);
    const { data, user, locale, channel, version } = parsed.data;
    const content = await contentOf(db, c.var.tenant, name, version);
    const checked = validateVariables(content.variables, data);
    if (!checked.ok) throw invalid(checked.errors, "`data` does not match the template's variables");
    const channels = channel ? [channel] : channelsOf(content);
    try {
      const results = previewContent(engine, content, { channels, vars: { data, user }, ...(locale ? { locale } : {}) });
      return c.json({ name, version, channels: results });
    } catch (err) {
      if (!isTemplateRenderError(err)) throw err;
      const path = `content.locales.${err.locale ?? "default"}.${err.field}`;
      throw new AppError("template_invalid", {
        detail: "The template did not render with this data",
        errors: [{ path, message: err.message.slice(err.field.length + 2) }],
      });
    }
  });

  return routes;
}

/** The draft or a published version's content; the draft's variables must be a usable schema to check `data` against. */
async function contentOf(db: TemplateDeps["db"], tenant: string, name: string, version: number | "draft"): Promise<TemplateContent> {
  if (version !== "draft") {
    const found = await getVersion(db, tenant, name, version);
    if (found === null) throw new AppError("not_found", { detail: `Template ${name} has no version ${version}` });
    return found.content;
  }
  const template = await getTemplate(db, tenant, name);
  if (template === null) throw noTemplate(name);
  const problems = checkSchema(template.draft.variables);
  if (problems.length > 0) {
    throw new AppError("template_invalid", {
      detail: "The draft's variables are not a usable JSON Schema",
      errors: problems.map((e) => ({ path: e.path ? `content.variables.${e.path}` : "content.variables", message: e.message })),
    });
  }
  return template.draft;
}
