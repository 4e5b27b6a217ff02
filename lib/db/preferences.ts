import { and, asc, eq, inArray, sql as raw } from "drizzle-orm";
import type { Database, Sql, SqlRow } from "../../schemas/database.ts";
import { CHANNELS, type Channel, type PreferenceChannel } from "../../schemas/enums.ts";
import type { CategorySettings, Preference } from "../../schemas/recipients.ts";
import { categories, preferences } from "../../schemas/tables.ts";

// The one writer of `categories` and `preferences`. A user's opt-out of a
// category the tenant marked `required` is refused when it is written; one
// stored before the category became required is ignored when it is read
// (`isOptedIn`). Writes that check `required` hold a share lock on the
// category's row, so it cannot become required between the check and the write.

/** A tenant's category as the API shows it. */
export interface CategoryView {
  category: string;
  required: boolean;
  defaults: Partial<Record<Channel, boolean>>;
  updatedAt: string;
}

/** What decides whether a user gets a category's notifications on a channel. */
export interface PreferenceEntry {
  /** The tenant marked the category required: nobody opts out. */
  required: boolean;
  /** The tenant's default per channel for users who said nothing. */
  defaults: Partial<Record<Channel, boolean>>;
  /** The user's own choices, per channel and `*`. */
  own: Partial<Record<PreferenceChannel, boolean>>;
}

/** One category as a user's settings page shows it: whether it is required, and the effective value per channel. */
export interface EffectiveCategory {
  category: string;
  required: boolean;
  channels: Record<Channel, boolean>;
}

/** `GET /v1/users/:userId/preferences`: the user's own choices, and what they add up to for every category. */
export interface UserPreferences {
  userId: string;
  preferences: Preference[];
  categories: EffectiveCategory[];
}

/** Opting out of categories the tenant marked required; the route answers 409. */
export class RequiredCategoryError extends Error {
  readonly categories: string[];
  constructor(names: string[]) {
    super(`users cannot opt out of required categories: ${names.join(", ")}`);
    this.name = "RequiredCategoryError";
    this.categories = names;
  }
}

/** Narrows an unknown throw to a refused opt-out. */
export function isRequiredCategoryError(err: unknown): err is RequiredCategoryError {
  return err instanceof RequiredCategoryError;
}

/**
 * Whether a user gets a category's notifications on a channel: always for a
 * required category; else their own choice for the channel, else their `*`
 * choice, else the tenant's default for the channel, else yes.
 */
export function isOptedIn(entry: PreferenceEntry | undefined, channel: Channel): boolean {
  if (entry === undefined || entry.required) return true;
  return entry.own[channel] ?? entry.own["*"] ?? entry.defaults[channel] ?? true;
}

const categoryColumns = { category: categories.category, required: categories.required, defaults: categories.defaults, updatedAt: categories.updatedAt };
const toCategory = (r: { category: string; required: boolean; defaults: Partial<Record<Channel, boolean>>; updatedAt: Date }): CategoryView => ({
  ...r,
  updatedAt: r.updatedAt.toISOString(),
});

/** Creates or replaces the tenant's category. `created`: it did not exist. */
export async function putCategory(
  db: Database,
  tenantId: string,
  category: string,
  settings: CategorySettings,
): Promise<{ created: boolean; category: CategoryView }> {
  const set = { required: settings.required, defaults: settings.defaults };
  const [row] = await db
    .insert(categories)
    .values({ tenantId, category, ...set })
    .onConflictDoUpdate({ target: [categories.tenantId, categories.category], set: { ...set, updatedAt: raw`now()` } })
    // xmax is 0 on a row this statement inserted, set on one it updated.
    .returning({ ...categoryColumns, created: raw<boolean>`(xmax = 0)` });
  if (row === undefined) throw new Error("the category upsert returned no row");
  const { created, ...view } = row;
  return { created, category: toCategory(view) };
}

/** The tenant's categories by name. */
export async function listCategories(db: Database, tenantId: string): Promise<CategoryView[]> {
  const rows = await db.select(categoryColumns).from(categories).where(eq(categories.tenantId, tenantId)).orderBy(asc(categories.category));
  return rows.map(toCategory);
}

/** The tenant's category, or null. */
export async function getCategory(db: Database, tenantId: string, category: string): Promise<CategoryView | null> {
  const [row] = await db
    .select(categoryColumns)
    .from(categories)
    .where(and(eq(categories.tenantId, tenantId), eq(categories.category, category)));
  return row === undefined ? null : toCategory(row);
}

/** The last choice per (category, channel) wins, as if they were written one after another. */
function lastPerChannel(prefs: Preference[]): Preference[] {
  return [...new Map(prefs.map((p) => [`${p.category}\u0000${p.channel}`, p])).values()];
}

/**
 * Stores the user's choices (each replaces the one for its category and
 * channel; others stay) and answers what they add up to. Throws
 * `RequiredCategoryError`, storing nothing, when one opts out of a required category.
 */
export async function setPreferences(db: Database, tenantId: string, userId: string, prefs: Preference[]): Promise<UserPreferences> {
  const choices = lastPerChannel(prefs);
  if (choices.length > 0) {
    await db.transaction(async (tx) => {
      const optOuts = [...new Set(choices.filter((p) => !p.enabled).map((p) => p.category))];
      if (optOuts.length > 0) {
        const required = await tx
          .select({ category: categories.category })
          .from(categories)
          .where(and(eq(categories.tenantId, tenantId), inArray(categories.category, optOuts), eq(categories.required, true)))
          .for("share");
        if (required.length > 0) throw new RequiredCategoryError(required.map((r) => r.category).sort());
      }
      await tx
        .insert(preferences)
        .values(choices.map((p) => ({ tenantId, userId, category: p.category, channel: p.channel, enabled: p.enabled })))
        .onConflictDoUpdate({
          target: [preferences.tenantId, preferences.userId, preferences.category, preferences.channel],
          set: { enabled: raw`excluded.enabled`, updatedAt: raw`now()` },
        });
    });
  }
  return getPreferences(db, tenantId, userId);
}

/** The user's own choices, and the effective value per channel of every category of the tenant and every one the user chose for. */
export async function getPreferences(db: Database, tenantId: string, userId: string): Promise<UserPreferences> {
  const [own, defined] = await Promise.all([
    db
      .select({ category: preferences.category, channel: preferences.channel, enabled: preferences.enabled })
      .from(preferences)
      .where(and(eq(preferences.tenantId, tenantId), eq(preferences.userId, userId)))
      .orderBy(asc(preferences.category), asc(preferences.channel)),
    listCategories(db, tenantId),
  ]);
  const entries = new Map<string, PreferenceEntry>(defined.map((c) => [c.category, { required: c.required, defaults: c.defaults, own: {} }]));
  for (const p of own) {
    const entry = entries.get(p.category) ?? { required: false, defaults: {}, own: {} };
    entry.own[p.channel] = p.enabled;
    entries.set(p.category, entry);
  }
  const effective = [...entries.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([category, entry]) => ({
      category,
      required: entry.required,
      channels: Object.fromEntries(CHANNELS.map((ch) => [ch, isOptedIn(entry, ch)])) as Record<Channel, boolean>,
    }));
  return { userId, preferences: own, categories: effective };
}

/** Deletes every choice of the user; run inside the user's deletion. */
export async function deleteUserPreferences(db: Database, tenantId: string, userId: string): Promise<number> {
  const deleted = await db
    .delete(preferences)
    .where(and(eq(preferences.tenantId, tenantId), eq(preferences.userId, userId)))
    .returning({ category: preferences.category });
  return deleted.length;
}

/**
 * A one-click unsubscribe: the user opts out of the category on the channel.
 * Idempotent; changes nothing and answers `required` for a required category.
 */
export async function applyUnsubscribe(
  db: Database,
  tenantId: string,
  userId: string,
  category: string,
  channel: PreferenceChannel,
): Promise<"unsubscribed" | "required"> {
  return db.transaction(async (tx) => {
    const [found] = await tx
      .select({ required: categories.required })
      .from(categories)
      .where(and(eq(categories.tenantId, tenantId), eq(categories.category, category)))
      .for("share");
    if (found?.required === true) return "required";
    await tx
      .insert(preferences)
      .values({ tenantId, userId, category, channel, enabled: false })
      .onConflictDoUpdate({
        target: [preferences.tenantId, preferences.userId, preferences.category, preferences.channel],
        set: { enabled: false, updatedAt: raw`now()` },
      });
    return "unsubscribed";
  });
}

/** The key of `preferencesAmong`'s map: tenant, user and category joined by NUL, which none of them can hold. */
export function prefKey(tenantId: string, userId: string, category: string): string {
  return `${tenantId}\u0000${userId}\u0000${category}`;
}

/**
 * What decides each key's sends, in one statement whatever their count (none
 * for no keys), keyed by `prefKey`. A key whose category the tenant never
 * defined and the user never chose for has no entry: `isOptedIn` says yes.
 */
export async function preferencesAmong(sql: Sql, keys: Array<{ tenantId: string; userId: string; category: string }>): Promise<Map<string, PreferenceEntry>> {
  const found = new Map<string, PreferenceEntry>();
  if (keys.length === 0) return found;
  const input = JSON.stringify(keys.map((k) => ({ tenant_id: k.tenantId, user_id: k.userId, category: k.category })));
  for (const r of await sql.run(AMONG_SQL, [input])) {
    found.set(prefKey(String(r.tenant_id), String(r.user_id), String(r.category)), toEntry(r));
  }
  return found;
}

const AMONG_SQL = `
  select k.tenant_id, k.user_id, k.category, coalesce(c.required, false) as required, coalesce(c.defaults, '{}'::jsonb) as defaults,
    coalesce(o.own, '{}'::jsonb) as own
  from (select distinct tenant_id, user_id, category from jsonb_to_recordset($1::jsonb) as x(tenant_id text, user_id text, category text)) k
  left join categories c on c.tenant_id = k.tenant_id and c.category = k.category
  left join lateral (
    select jsonb_object_agg(p.channel, p.enabled) as own from preferences p
    where p.tenant_id = k.tenant_id and p.user_id = k.user_id and p.category = k.category) o on true
  where c.category is not null or o.own is not null`;

// A driver may hand jsonb back as text; postgres.js and drizzle's PGlite parse it.
const parsed = (v: unknown): unknown => (typeof v === "string" ? (JSON.parse(v) as unknown) : v);

function toEntry(r: SqlRow): PreferenceEntry {
  return {
    required: r.required === true,
    defaults: parsed(r.defaults) as PreferenceEntry["defaults"],
    own: parsed(r.own) as PreferenceEntry["own"],
  };
}
