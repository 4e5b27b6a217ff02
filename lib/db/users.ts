import { and, asc, eq, ne, sql as raw } from "drizzle-orm";
import type { Database, Sql, SqlRow } from "../../schemas/database.ts";
import { DEVICE_PLATFORMS, type DevicePlatform } from "../../schemas/enums.ts";
import type { Device, QuietHours, UserProfile } from "../../schemas/recipients.ts";
import { userDevices, users } from "../../schemas/tables.ts";
import { deleteUserPreferences } from "./preferences.ts";

// The one writer of `users` and `user_devices`: a tenant's recipients, keyed
// by the tenant's own user id, and their push devices. A device token belongs
// to one user of a tenant: adding it to a user takes it from any other, under
// a transaction-scoped advisory lock on (tenant, token), because the primary
// key (tenant, user, token) alone would let two users hold it.

/** What the processor needs of a recipient: where each channel reaches them, and how. */
export interface RecipientProfile {
  userId: string;
  email: string | null;
  phone: string | null;
  locale: string | null;
  timeZone: string | null;
  quietHours: QuietHours | null;
  data: Record<string, unknown>;
  devices: Device[];
}

/** A recipient as `GET /v1/users/:userId` shows it. */
export interface UserView extends RecipientProfile {
  createdAt: string;
  updatedAt: string;
}

const columns = {
  userId: users.userId,
  email: users.email,
  phone: users.phone,
  locale: users.locale,
  timeZone: users.timeZone,
  quietHours: users.quietHours,
  data: users.data,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
};

const byUser = (tenantId: string, userId: string) => and(eq(users.tenantId, tenantId), eq(users.userId, userId));

/** Every profile field, absent ones cleared: what `PUT` stores. */
function fullProfile(p: UserProfile) {
  return {
    email: p.email ?? null,
    phone: p.phone ?? null,
    locale: p.locale ?? null,
    timeZone: p.timeZone ?? null,
    quietHours: p.quietHours ?? null,
    data: p.data ?? {},
  };
}

/** The user with their devices (oldest first), or null when the tenant has no such user. */
export async function getUser(db: Database, tenantId: string, userId: string): Promise<UserView | null> {
  const [[row], devices] = await Promise.all([
    db.select(columns).from(users).where(byUser(tenantId, userId)),
    db
      .select({ token: userDevices.token, platform: userDevices.platform })
      .from(userDevices)
      .where(and(eq(userDevices.tenantId, tenantId), eq(userDevices.userId, userId)))
      .orderBy(asc(userDevices.createdAt), asc(userDevices.token)),
  ]);
  if (row === undefined) return null;
  return { ...row, devices, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}

/** Creates the user or replaces every field of their profile (devices stay). `created`: it did not exist. */
export async function putUser(db: Database, tenantId: string, userId: string, profile: UserProfile): Promise<{ created: boolean; user: UserView }> {
  const fields = fullProfile(profile);
  const [row] = await db
    .insert(users)
    .values({ tenantId, userId, ...fields })
    .onConflictDoUpdate({ target: [users.tenantId, users.userId], set: { ...fields, updatedAt: raw`now()` } })
    // xmax is 0 on a row this statement inserted, set on one it updated.
    .returning({ created: raw<boolean>`(xmax = 0)` });
  const user = await getUser(db, tenantId, userId);
  if (user === null) throw new Error(`user ${userId} vanished right after it was written`);
  return { created: row?.created === true, user };
}

/** Changes only the fields given (null clears one); null when the tenant has no such user. */
export async function patchUser(db: Database, tenantId: string, userId: string, patch: UserProfile): Promise<UserView | null> {
  const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  const updated = await db
    .update(users)
    .set({ ...set, updatedAt: raw`now()` })
    .where(byUser(tenantId, userId))
    .returning({ userId: users.userId });
  return updated.length === 0 ? null : getUser(db, tenantId, userId);
}

/** Deletes the user, their devices (by cascade) and their preferences in one transaction. True when a profile existed. */
export async function deleteUser(db: Database, tenantId: string, userId: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const deleted = await tx.delete(users).where(byUser(tenantId, userId)).returning({ userId: users.userId });
    await deleteUserPreferences(tx, tenantId, userId);
    return deleted.length > 0;
  });
}

/**
 * Adds a device to the user, or changes its platform; a token another user of
 * the tenant held is theirs no more. Null when the tenant has no such user.
 */
export async function addDevice(db: Database, tenantId: string, userId: string, device: Device): Promise<{ moved: boolean } | null> {
  return db.transaction(async (tx) => {
    await tx.execute(raw`select pg_advisory_xact_lock(hashtext(${tenantId}), hashtext(${device.token}))`);
    const [owner] = await tx.select({ userId: users.userId }).from(users).where(byUser(tenantId, userId)).for("share");
    if (owner === undefined) return null;
    const taken = await tx
      .delete(userDevices)
      .where(and(eq(userDevices.tenantId, tenantId), eq(userDevices.token, device.token), ne(userDevices.userId, userId)))
      .returning({ userId: userDevices.userId });
    await tx
      .insert(userDevices)
      .values({ tenantId, userId, token: device.token, platform: device.platform })
      .onConflictDoUpdate({ target: [userDevices.tenantId, userDevices.userId, userDevices.token], set: { platform: device.platform } });
    return { moved: taken.length > 0 };
  });
}

/** Removes the device from the user; false when the user has no such device. */
export async function removeDevice(db: Database, tenantId: string, userId: string, token: string): Promise<boolean> {
  const deleted = await db
    .delete(userDevices)
    .where(and(eq(userDevices.tenantId, tenantId), eq(userDevices.userId, userId), eq(userDevices.token, token)))
    .returning({ token: userDevices.token });
  return deleted.length > 0;
}

/** The key of `usersAmong`'s map: tenant and user joined by NUL, which neither can hold. */
export function userKey(tenantId: string, userId: string): string {
  return `${tenantId}\u0000${userId}`;
}

/**
 * The profiles of the users among the keys that exist, devices included, in
 * one statement whatever their count (none for no keys), keyed by `userKey`.
 */
export async function usersAmong(sql: Sql, keys: Array<{ tenantId: string; userId: string }>): Promise<Map<string, RecipientProfile>> {
  const found = new Map<string, RecipientProfile>();
  if (keys.length === 0) return found;
  const input = JSON.stringify(keys.map((k) => ({ tenant_id: k.tenantId, user_id: k.userId })));
  for (const r of await sql.run(AMONG_SQL, [input])) found.set(userKey(String(r.tenant_id), String(r.user_id)), toProfile(r));
  return found;
}

const AMONG_SQL = `
  select u.tenant_id, u.user_id, u.email, u.phone, u.locale, u.time_zone, u.quiet_hours, u.data,
    coalesce(
      (select json_agg(json_build_object('token', d.token, 'platform', d.platform) order by d.created_at, d.token)
       from user_devices d where d.tenant_id = u.tenant_id and d.user_id = u.user_id),
      '[]'::json) as devices
  from users u
  where (u.tenant_id, u.user_id) in (
    select tenant_id, user_id from jsonb_to_recordset($1::jsonb) as x(tenant_id text, user_id text))`;

const text = (v: unknown): string | null => (typeof v === "string" ? v : null);
// A driver may hand json back as text (PGlite's raw protocol does for `json`); postgres.js parses it.
const parsed = (v: unknown): unknown => (typeof v === "string" ? (JSON.parse(v) as unknown) : v);

function toProfile(r: SqlRow): RecipientProfile {
  const devices = parsed(r.devices) as Array<{ token: string; platform: string }>;
  return {
    userId: String(r.user_id),
    email: text(r.email),
    phone: text(r.phone),
    locale: text(r.locale),
    timeZone: text(r.time_zone),
    quietHours: (parsed(r.quiet_hours) ?? null) as QuietHours | null,
    data: (parsed(r.data) ?? {}) as Record<string, unknown>,
    devices: devices.map((d) => ({ token: d.token, platform: asPlatform(d.platform) })),
  };
}

function asPlatform(value: string): DevicePlatform {
  const found = DEVICE_PLATFORMS.find((p) => p === value);
  if (!found) throw new Error(`unknown device platform in the database: ${value}`);
  return found;
}

/** Which channels a user can be reached on, as a send by template checks at accept time. */
export interface ReachableBy {
  email: boolean;
  sms: boolean;
  push: boolean;
}

/**
 * Whether the user exists and which addresses they have, in one prepared
 * statement: the accept path asks this on every send by template, where the
 * full profile (`getUser`, two query-builder statements) cost the gateway
 * about 0.3 ms of CPU a request.
 */
export async function reachableBy(sql: Sql, tenantId: string, userId: string): Promise<ReachableBy | null> {
  const [r] = await sql.run(REACHABLE_SQL, [tenantId, userId]);
  return r === undefined ? null : { email: r.email === true, sms: r.sms === true, push: r.push === true };
}

const REACHABLE_SQL = `
  select u.email is not null as email, u.phone is not null as sms,
    exists (select 1 from user_devices d where d.tenant_id = u.tenant_id and d.user_id = u.user_id) as push
  from users u where u.tenant_id = $1 and u.user_id = $2`;

/** What `eraseProfile` removed: how many rows, and the addresses they held (to find the user's suppressions). */
export interface ErasedProfile {
  profile: number;
  devices: number;
  email: string | null;
  phone: string | null;
  tokens: string[];
}

/**
 * Deletes the user and their devices, returning the addresses they held; the
 * caller (lib/db/erasure.ts) runs it inside the erasure's transaction.
 */
export async function eraseProfile(db: Database, tenantId: string, userId: string): Promise<ErasedProfile> {
  const devices = await db
    .delete(userDevices)
    .where(and(eq(userDevices.tenantId, tenantId), eq(userDevices.userId, userId)))
    .returning({ token: userDevices.token });
  const [user] = await db.delete(users).where(byUser(tenantId, userId)).returning({ email: users.email, phone: users.phone });
  return { profile: user ? 1 : 0, devices: devices.length, email: user?.email ?? null, phone: user?.phone ?? null, tokens: devices.map((d) => d.token) };
}
