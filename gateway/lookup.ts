import { z } from "zod";
import { STATUSES } from "../schemas/enums.ts";
import { storableText } from "../schemas/storable.ts";
import type { ResolvedDeps } from "./context.ts";
import { decodeCursor } from "../lib/db/cursor.ts";
import { AppError, invalidQuery } from "./errors.ts";
import type { ListQuery, NotificationView, AcceptedView } from "../schemas/views.ts";

/** An accepted-but-not-yet-persisted notification shown in the shape of a row. */
export function fromAccepted(view: AcceptedView): NotificationView {
  return {
    id: view.id,
    userId: view.userId,
    channel: view.channel,
    type: view.type,
    priority: view.priority,
    status: view.status,
    attempts: 0,
    lastError: null,
    createdAt: view.createdAt,
    updatedAt: view.createdAt,
    sentAt: null,
    scheduledFor: view.scheduledFor,
    metadata: view.metadata,
    correlationId: view.correlationId,
  };
}

/** The read-your-writes copy, or null; a store outage must not break reads Postgres can answer. */
export async function recallQuietly(deps: ResolvedDeps, tenant: string, id: string): Promise<AcceptedView | null> {
  try {
    return await deps.store.recall(tenant, id);
  } catch (err) {
    deps.logger.warn({ err }, "recall from the idempotency store failed");
    return null;
  }
}

/** Postgres first, the just-accepted copy second; both asked at once so a miss costs no extra round trip. */
export async function findNotification(deps: ResolvedDeps, tenant: string, id: string): Promise<NotificationView | null> {
  const [row, recalled] = await Promise.all([deps.reader.get(tenant, id), recallQuietly(deps, tenant, id)]);
  if (row) return row;
  return recalled ? fromAccepted(recalled) : null;
}

const ListParams = z.object({
  userId: storableText().min(1).max(255).optional(),
  status: z.enum(STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(512).optional(),
});

/** Validates `?userId=&status=&limit=&cursor=`; unknown parameters are ignored. */
export function parseListQuery(raw: Record<string, string>): ListQuery {
  const parsed = ListParams.safeParse(raw);
  if (!parsed.success) throw invalidQuery(parsed.error);
  const { cursor: token, ...rest } = parsed.data;
  if (token === undefined) return rest;
  const cursor = decodeCursor(token);
  if (cursor === null) {
    throw invalidQuery([{ path: "cursor", message: "Unknown or malformed cursor" }]);
  }
  return { ...rest, cursor };
}

/** The one 404 of the notification routes, the same for missing, malformed and foreign ids. */
export function notFound(): AppError {
  return new AppError("not_found", { detail: "No notification with this id" });
}
