import type { Context } from "hono";
import { lifecycleEvent } from "../../schemas/events.ts";
import type { TenantEnv } from "../context.ts";
import { AppError } from "../errors.ts";
import { notFound, recallQuietly } from "../lookup.ts";
import type { NotificationView } from "../../schemas/views.ts";
import { logInfo } from "../../lib/telemetry/log-lines.ts";
import { isUuid } from "../../schemas/storable.ts";

/**
 * `POST /v1/notifications/:id/cancel`: 200 with the notification, now
 * `cancelled` (also when it already was: cancelling is idempotent); 409 when
 * it is being sent (`processing`) or already ended `sent` or `failed`; 404
 * for an unknown id or another tenant's. A scheduled or retrying
 * notification stops there: its message is acked without a send when it
 * comes due. The `cancelled` lifecycle event goes out once.
 */
export async function cancelNotification(c: Context<TenantEnv>): Promise<Response> {
  const { deps, tenant, requestId } = c.var;
  const id = c.req.param("id");
  if (id === undefined || !isUuid(id)) throw notFound();
  const result = await deps.canceller.cancel(tenant, id, () => recallQuietly(deps, tenant, id));
  switch (result.kind) {
    case "unknown":
      throw notFound();
    case "not_cancellable":
      throw new AppError("not_cancellable", {
        detail: `The notification is ${result.view.status}; only accepted, scheduled or retrying ones can be cancelled`,
      });
    case "already_cancelled":
      return c.json(result.view);
    case "cancelled":
      await publishCancelled(c, result.view);
      logInfo(deps.logger, { correlationId: requestId, notificationId: id, tenantId: tenant, channel: result.view.channel }, "notification cancelled");
      return c.json(result.view);
    default:
      return result satisfies never;
  }
}

/** The state is committed; an event that does not go out is logged, as the processor does with its own. */
async function publishCancelled(c: Context<TenantEnv>, view: NotificationView): Promise<void> {
  const { deps, tenant } = c.var;
  if (deps.events === undefined) return;
  try {
    await deps.events.publish(lifecycleEvent("cancelled", { ...view, tenantId: tenant }, { at: view.updatedAt }));
  } catch (err) {
    deps.logger.warn({ err, notificationId: view.id, tenantId: tenant }, "cancelled, but the lifecycle event was not published");
  }
}
