import { and, asc, eq, gt, inArray } from "drizzle-orm";
import type { Database } from "../../schemas/database.ts";
import type { Channel } from "../../schemas/enums.ts";
import { deliveryAttempts, notifications } from "../../schemas/tables.ts";
import type { AttemptView, NotificationView } from "../../schemas/views.ts";
import { addressedBy, eraseUserNotifications } from "./notification-repository.ts";
import { deleteUserPreferences, getPreferences, type UserPreferences } from "./preferences.ts";
import { iso, toView, viewColumns } from "./reads.ts";
import { deleteSuppressions, suppressionAddress, suppressionsOf } from "./suppressions.ts";
import { eraseProfile, getUser, type UserView } from "./users.ts";
import { eraseUserDeliveries } from "./webhook-deliveries.ts";

// A user's erasure and export (GDPR articles 17 and 20). This module writes
// no table itself: each statement is a function of that table's one writer
// (users.ts, preferences.ts, suppressions.ts, notification-repository.ts,
// webhook-deliveries.ts),
// and this module only runs them in one transaction, so an erasure is
// all or nothing.

/** How many rows of each kind an erasure removed or scrubbed. */
export interface ErasedCounts {
  profile: number;
  devices: number;
  preferences: number;
  /** Notifications whose payload, metadata and last error were erased (rows, ids and statuses stay). */
  notifications: number;
  /** Delivery attempts whose error text was erased. */
  attempts: number;
  /** Notifications still waiting (accepted, scheduled, retrying), cancelled so that nothing is sent with an erased payload. */
  cancelled: number;
  suppressions: number;
}

type Address = { channel: Channel; address: string };

/** The suppression keys of what the profile and the payloads addressed, normalised as suppressions store them. */
function addressesOf(found: Array<{ channel: Channel; to: string | null }>): Address[] {
  const keys = new Map<string, Address>();
  for (const { channel, to } of found) {
    const address = suppressionAddress(channel, { to });
    if (address !== null) keys.set(`${channel}\u0000${address}`, { channel, address });
  }
  return [...keys.values()];
}

/**
 * Erases the user's personal data for the tenant, in one transaction: their
 * profile, devices and preferences are deleted, the suppressions of every
 * address they had (profile, devices, notifications' payloads) deleted, and
 * their notifications scrubbed (`eraseUserNotifications`). A user already
 * erased answers zeros. Dead letters live in NATS: lib/nats/dead-letters.ts.
 */
export async function eraseUser(db: Database, tenantId: string, userId: string): Promise<ErasedCounts> {
  return db.transaction(async (tx) => {
    // Read before the scrub below replaces the payloads.
    const addressed = await addressedBy(tx, tenantId, userId);
    const profile = await eraseProfile(tx, tenantId, userId);
    const preferences = await deleteUserPreferences(tx, tenantId, userId);
    const keys = addressesOf([
      ...addressed,
      { channel: "email", to: profile.email },
      { channel: "sms", to: profile.phone },
      ...profile.tokens.map((to) => ({ channel: "push" as const, to })),
    ]);
    const suppressions = await deleteSuppressions(tx, tenantId, keys);
    const erased = await eraseUserNotifications(tx, tenantId, userId);
    // Status-webhook deliveries carry the user's events (metadata, errors): they go, uncounted, as the events stream's copies age out.
    await eraseUserDeliveries(tx, tenantId, userId);
    return { profile: profile.profile, devices: profile.devices, preferences, ...erased, suppressions };
  });
}

/** The most notifications one export answer holds; more: `truncated` and a cursor for the next page. */
export const EXPORT_PAGE_LIMIT = 10_000;

/** A notification as the export shows it: its view, payload and attempts. */
export interface ExportedNotification extends NotificationView {
  payload: Record<string, unknown>;
  readAt: string | null;
  /** Every provider call for it, in order (`attempts` is their count). */
  deliveryAttempts: AttemptView[];
}

/** A suppression of one of the user's addresses. */
export interface ExportedSuppression {
  channel: Channel;
  address: string;
  reason: string;
  source: string;
  notificationId: string | null;
  createdAt: string;
}

/** Everything held about a user for a tenant (`GET /v1/users/:userId/export`). */
export interface UserExport {
  userId: string;
  exportedAt: string;
  profile: UserView | null;
  preferences: UserPreferences["preferences"];
  suppressions: ExportedSuppression[];
  /** Oldest first (by id, which is time-ordered); at most `EXPORT_PAGE_LIMIT`. */
  notifications: ExportedNotification[];
  /** More notifications follow: ask again with `cursor`. */
  truncated: boolean;
  cursor: string | null;
}

/**
 * The user's data for the tenant: the profile, preferences, the suppressions
 * of their addresses, and a page of their notifications (payloads and
 * attempts included) after the notification id `after`, oldest first.
 */
export async function exportUser(db: Database, tenantId: string, userId: string, page: { after?: string; limit?: number } = {}): Promise<UserExport> {
  const limit = Math.min(page.limit ?? EXPORT_PAGE_LIMIT, EXPORT_PAGE_LIMIT);
  const mine = and(eq(notifications.tenantId, tenantId), eq(notifications.userId, userId), page.after ? gt(notifications.id, page.after) : undefined);
  const [profile, prefs, rows, addressed] = await Promise.all([
    getUser(db, tenantId, userId),
    getPreferences(db, tenantId, userId),
    db
      .select({ ...viewColumns, payload: notifications.payload })
      .from(notifications)
      .where(mine)
      .orderBy(asc(notifications.id))
      .limit(limit + 1),
    addressedBy(db, tenantId, userId),
  ]);
  const truncated = rows.length > limit;
  const kept = rows.slice(0, limit);
  const attempts = await attemptsOf(
    db,
    kept.map((r) => r.id),
  );
  const keys = addressesOf([
    ...addressed,
    { channel: "email", to: profile?.email ?? null },
    { channel: "sms", to: profile?.phone ?? null },
    ...(profile?.devices ?? []).map((d) => ({ channel: "push" as const, to: d.token })),
  ]);
  const suppressions = (await suppressionsOf(db, tenantId, keys)).map((s) => ({
    channel: s.channel,
    address: s.address,
    reason: s.reason,
    source: s.source,
    notificationId: s.notificationId,
    createdAt: s.createdAt.toISOString(),
  }));
  return {
    userId,
    exportedAt: new Date().toISOString(),
    profile,
    preferences: prefs.preferences,
    suppressions,
    notifications: kept.map((r) => ({ ...toView(r), payload: r.payload, readAt: iso(r.readAt), deliveryAttempts: attempts.get(r.id) ?? [] })),
    truncated,
    cursor: truncated ? (kept.at(-1)?.id ?? null) : null,
  };
}

async function attemptsOf(db: Database, ids: string[]): Promise<Map<string, AttemptView[]>> {
  const byId = new Map<string, AttemptView[]>();
  if (ids.length === 0) return byId;
  const rows = await db
    .select()
    .from(deliveryAttempts)
    .where(inArray(deliveryAttempts.notificationId, ids))
    .orderBy(asc(deliveryAttempts.notificationId), asc(deliveryAttempts.attempt));
  for (const a of rows) {
    const list = byId.get(a.notificationId) ?? [];
    list.push({
      attempt: a.attempt,
      provider: a.provider,
      outcome: a.outcome,
      latencyMs: a.latencyMs,
      error: a.error,
      providerMessageId: a.providerMessageId,
      createdAt: a.createdAt.toISOString(),
    });
    byId.set(a.notificationId, list);
  }
  return byId;
}
