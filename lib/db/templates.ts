import { and, asc, desc, eq, gt, sql as raw } from "drizzle-orm";
import type { Database, Sql } from "../../schemas/database.ts";
import type { TemplateContent } from "../../schemas/recipients.ts";
import { templates, templateVersions } from "../../schemas/tables.ts";
import { publishProblems } from "../templates/check.ts";
import { createTemplateEngine, type TemplateEngine } from "../templates/render.ts";
import type { VariableError } from "../templates/variables.ts";

// The one writer of `templates` and `template_versions`. A draft is replaced
// freely; publishing copies it into a new version under the template row's
// lock (FOR UPDATE), so concurrent publishes get distinct, gapless numbers.
// Versions are never updated: a notification names the one it was accepted with.

/** A template as `GET /v1/templates/:name` shows it: the draft, and the versions published from it. */
export interface TemplateView {
  name: string;
  category: string;
  draft: TemplateContent;
  /** The version new sends use; null until the first publish. */
  publishedVersion: number | null;
  /** Newest first. */
  versions: Array<{ version: number; publishedAt: string }>;
  createdAt: string;
  updatedAt: string;
}

/** One line of `GET /v1/templates`. */
export type TemplateSummary = Omit<TemplateView, "draft" | "versions">;

/** A published version: what a send renders. */
export interface PublishedVersion {
  name: string;
  version: number;
  category: string;
  content: TemplateContent;
}

/** A version's key; `versionKeyOf` joins it for maps. */
export interface VersionKey {
  tenantId: string;
  name: string;
  version: number;
}

/** `createTemplate` found the name taken. */
export class TemplateExistsError extends Error {
  readonly code = "template_exists" as const;
  constructor(readonly templateName: string) {
    super(`A template named ${templateName} exists; PUT /v1/templates/${templateName} replaces its draft`);
    this.name = "TemplateExistsError";
  }
}

/** `publishTemplate` refused the draft; `errors` names each problem by its path (`content.variables.type`). */
export class TemplateNotPublishableError extends Error {
  readonly code = "template_not_publishable" as const;
  constructor(readonly errors: VariableError[]) {
    super("The draft cannot be published");
    this.name = "TemplateNotPublishableError";
  }
}

export const isTemplateExistsError = (err: unknown): err is TemplateExistsError => err instanceof TemplateExistsError;
export const isTemplateNotPublishableError = (err: unknown): err is TemplateNotPublishableError => err instanceof TemplateNotPublishableError;

/** What `createTemplate` and `putDraft` store. */
export interface DraftInput {
  category: string;
  content: TemplateContent;
}

const summaryColumns = {
  name: templates.name,
  category: templates.category,
  publishedVersion: templates.publishedVersion,
  createdAt: templates.createdAt,
  updatedAt: templates.updatedAt,
};
type SummaryRow = { name: string; category: string; publishedVersion: number | null; createdAt: Date; updatedAt: Date };

function toSummary(row: SummaryRow): TemplateSummary {
  return { ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}

const own = (tenantId: string, name: string) => and(eq(templates.tenantId, tenantId), eq(templates.name, name));

/** Creates a template with its first draft; TemplateExistsError when the name is taken. */
export async function createTemplate(db: Database, tenantId: string, draft: DraftInput & { name: string }): Promise<TemplateView> {
  const rows = await db
    .insert(templates)
    .values({ tenantId, name: draft.name, category: draft.category, draft: draft.content })
    .onConflictDoNothing()
    .returning({ name: templates.name });
  if (rows.length === 0) throw new TemplateExistsError(draft.name);
  const view = await getTemplate(db, tenantId, draft.name);
  if (view === null) throw new Error(`template ${draft.name} vanished right after its insert`);
  return view;
}

/** Creates the template or replaces its draft and category; published versions stay as they are. */
export async function putDraft(db: Database, tenantId: string, name: string, draft: DraftInput): Promise<{ created: boolean; template: TemplateView }> {
  const [row] = await db
    .insert(templates)
    .values({ tenantId, name, category: draft.category, draft: draft.content })
    .onConflictDoUpdate({ target: [templates.tenantId, templates.name], set: { category: draft.category, draft: draft.content, updatedAt: raw`now()` } })
    // xmax is 0 on a row this statement inserted, set on one it updated.
    .returning({ created: raw<boolean>`(xmax = 0)` });
  const template = await getTemplate(db, tenantId, name);
  if (template === null) throw new Error(`template ${name} vanished right after its upsert`);
  return { created: row?.created === true, template };
}

/** The template with its draft and versions; null for a name the tenant does not have. */
export async function getTemplate(db: Database, tenantId: string, name: string): Promise<TemplateView | null> {
  const [rows, versions] = await Promise.all([
    db
      .select({ ...summaryColumns, draft: templates.draft })
      .from(templates)
      .where(own(tenantId, name)),
    db
      .select({ version: templateVersions.version, publishedAt: templateVersions.publishedAt })
      .from(templateVersions)
      .where(and(eq(templateVersions.tenantId, tenantId), eq(templateVersions.name, name)))
      .orderBy(desc(templateVersions.version)),
  ]);
  const row = rows[0];
  if (row === undefined) return null;
  const { draft, ...summary } = row;
  return { ...toSummary(summary), draft, versions: versions.map((v) => ({ version: v.version, publishedAt: v.publishedAt.toISOString() })) };
}

/** Opaque to clients like the other lists' cursors: base64url of the last name of the page. */
export function encodeNameCursor(name: string): string {
  return btoa(JSON.stringify([name]))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** The name a cursor of `encodeNameCursor` holds; null for anything else. */
export function decodeNameCursor(raw: string): string | null {
  try {
    const value: unknown = JSON.parse(atob(raw.replaceAll("-", "+").replaceAll("_", "/")));
    return Array.isArray(value) && value.length === 1 && typeof value[0] === "string" ? value[0] : null;
  } catch {
    return null;
  }
}

/** A page of the tenant's templates by name (the primary key's order), and the cursor of the next page. */
export async function listTemplates(
  db: Database,
  tenantId: string,
  page: { limit: number; after?: string },
): Promise<{ data: TemplateSummary[]; nextCursor: string | null }> {
  const rows = await db
    .select(summaryColumns)
    .from(templates)
    .where(and(eq(templates.tenantId, tenantId), page.after === undefined ? undefined : gt(templates.name, page.after)))
    .orderBy(asc(templates.name))
    .limit(page.limit + 1);
  const data = rows.slice(0, page.limit).map(toSummary);
  const last = data.at(-1);
  return { data, nextCursor: rows.length > page.limit && last !== undefined ? encodeNameCursor(last.name) : null };
}

/**
 * Publishes the draft as the next version and makes it the one sends use;
 * returns its number, or null for an unknown name. In one transaction under
 * the template row's lock; TemplateNotPublishableError when the draft fails
 * `publishProblems` (nothing is written then).
 */
export async function publishTemplate(db: Database, tenantId: string, name: string, engine: TemplateEngine = createTemplateEngine()): Promise<number | null> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select({ category: templates.category, draft: templates.draft }).from(templates).where(own(tenantId, name)).for("update");
    if (row === undefined) return null;
    const problems = publishProblems(engine, row.draft);
    if (problems.length > 0) throw new TemplateNotPublishableError(problems);
    const [latest] = await tx
      .select({ max: raw<number | null>`max(${templateVersions.version})` })
      .from(templateVersions)
      .where(and(eq(templateVersions.tenantId, tenantId), eq(templateVersions.name, name)));
    const version = Number(latest?.max ?? 0) + 1;
    await tx.insert(templateVersions).values({ tenantId, name, version, category: row.category, content: row.draft });
    await tx.update(templates).set({ publishedVersion: version, updatedAt: raw`now()` }).where(own(tenantId, name));
    return version;
  });
}

/** One published version; null when the tenant has no such template or version. */
export async function getVersion(db: Database, tenantId: string, name: string, version: number): Promise<PublishedVersion | null> {
  const [row] = await db
    .select({ name: templateVersions.name, version: templateVersions.version, category: templateVersions.category, content: templateVersions.content })
    .from(templateVersions)
    .where(and(eq(templateVersions.tenantId, tenantId), eq(templateVersions.name, name), eq(templateVersions.version, version)));
  return row ?? null;
}

/** The version new sends of the template use; null for an unknown or never published template. */
export async function publishedVersionOf(db: Database, tenantId: string, name: string): Promise<PublishedVersion | null> {
  const [row] = await db
    .select({ name: templateVersions.name, version: templateVersions.version, category: templateVersions.category, content: templateVersions.content })
    .from(templates)
    .innerJoin(
      templateVersions,
      and(
        eq(templateVersions.tenantId, templates.tenantId),
        eq(templateVersions.name, templates.name),
        eq(templateVersions.version, templates.publishedVersion),
      ),
    )
    .where(own(tenantId, name));
  return row ?? null;
}

/** The key of `versionsAmong`'s map: tenant, name and version joined by NUL, which none of them can hold. */
export function versionKeyOf(key: VersionKey): string {
  return `${key.tenantId}\u0000${key.name}\u0000${key.version}`;
}

/** The versions among the keys that exist, in one statement whatever their count (none for no keys), keyed by `versionKeyOf`. */
export async function versionsAmong(sql: Sql, keys: VersionKey[]): Promise<Map<string, PublishedVersion>> {
  const found = new Map<string, PublishedVersion>();
  if (keys.length === 0) return found;
  const input = JSON.stringify(keys.map((k) => ({ tenant_id: k.tenantId, name: k.name, version: k.version })));
  for (const r of await sql.run(AMONG_SQL, [input])) {
    const v: PublishedVersion = { name: String(r.name), version: Number(r.version), category: String(r.category), content: r.content as TemplateContent };
    found.set(versionKeyOf({ tenantId: String(r.tenant_id), name: v.name, version: v.version }), v);
  }
  return found;
}

const AMONG_SQL = `
  select v.tenant_id, v.name, v.version, v.category, v.content
  from template_versions v
  where (v.tenant_id, v.name, v.version) in (
    select tenant_id, name, version from jsonb_to_recordset($1::jsonb) as x(tenant_id text, name text, version integer))`;
