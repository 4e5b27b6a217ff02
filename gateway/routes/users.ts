import { Hono } from "hono";
import { z } from "zod";
import { Device, Preference, UserId, UserProfile } from "../../schemas/recipients.ts";
import { getPreferences, isRequiredCategoryError, setPreferences } from "../../lib/db/preferences.ts";
import { appendAudit, recorded } from "../../lib/db/audit.ts";
import { eraseUser, exportUser } from "../../lib/db/erasure.ts";
import { addDevice, getUser, patchUser, putUser, removeDevice } from "../../lib/db/users.ts";
import { isUuid } from "../../schemas/storable.ts";
import { auditContext } from "../audit-context.ts";
import type { TenantEnv } from "../context.ts";
import { AppError } from "../errors.ts";
import { pathParam, readBody, recipientDeps } from "../recipient-input.ts";

/** The body of `PUT /v1/users/:userId/preferences`; the OpenAPI document is generated from it. */
export const PreferencesBody = z.strictObject({ preferences: z.array(Preference).max(500) });

const DeviceToken = Device.shape.token;

function noUser(): AppError {
  return new AppError("not_found", { detail: "No user with this id" });
}

/**
 * `/v1/users`: the tenant's recipients (where each channel reaches them, their
 * language, time zone and quiet hours), their push devices and their
 * preferences. Another tenant's user answers as a missing one.
 */
export function userRoutes(): Hono<TenantEnv> {
  const routes = new Hono<TenantEnv>();
  const userOf = (value: string, invalid: "not_found" | "invalid_body" = "not_found") => pathParam("userId", value, UserId, invalid);

  routes.put("/:userId", async (c) => {
    const { db } = recipientDeps(c);
    const userId = userOf(c.req.param("userId"), "invalid_body");
    const { created, user } = await putUser(db, c.var.tenant, userId, await readBody(c, UserProfile));
    return c.json(user, created ? 201 : 200);
  });

  routes.get("/:userId", async (c) => {
    const user = await getUser(recipientDeps(c).db, c.var.tenant, userOf(c.req.param("userId")));
    if (user === null) throw noUser();
    return c.json(user);
  });

  routes.patch("/:userId", async (c) => {
    const { db } = recipientDeps(c);
    const userId = userOf(c.req.param("userId"));
    const user = await patchUser(db, c.var.tenant, userId, await readBody(c, UserProfile));
    if (user === null) throw noUser();
    return c.json(user);
  });

  // Idempotent: erasing a user who is not there (any more) answers 200 with zeros. Postgres first:
  // when the dead-letter stream then fails, a retry finds Postgres done and scans the stream again.
  routes.delete("/:userId", async (c) => {
    const { db, deadLetters } = recipientDeps(c);
    const userId = userOf(c.req.param("userId"));
    const tenant = c.var.tenant;
    const by = auditContext(c);
    // Counts only: the entry outlives the erasure, so it must hold nothing the erasure removes.
    const erased = await recorded(
      db,
      (tx) => eraseUser(tx, tenant, userId),
      (counts) => ({ ...by, tenantId: tenant, action: "user.erased", target: userId, details: { ...counts } }),
    );
    const deadLetterCount = deadLetters ? await deadLetters.eraseUser(c.var.tenant, userId) : null;
    return c.json({ userId, erased: { ...erased, deadLetters: deadLetterCount } });
  });

  routes.get("/:userId/export", async (c) => {
    const userId = userOf(c.req.param("userId"));
    const cursor = c.req.query("cursor");
    if (cursor !== undefined && !isUuid(cursor)) {
      throw new AppError("invalid_query", { detail: "The query failed validation", errors: [{ path: "cursor", message: "not a cursor this API gave" }] });
    }
    const { db } = recipientDeps(c);
    const exported = await exportUser(db, c.var.tenant, userId, cursor === undefined ? {} : { after: cursor });
    // A read has no transaction to share: recorded before the answer, so no export leaves unrecorded.
    await appendAudit(db, {
      ...auditContext(c),
      tenantId: c.var.tenant,
      action: "user.exported",
      target: userId,
      details: { notifications: exported.notifications.length, truncated: exported.truncated, ...(cursor === undefined ? {} : { after: cursor }) },
    });
    return c.json(exported);
  });

  routes.post("/:userId/devices", async (c) => {
    const { db } = recipientDeps(c);
    const userId = userOf(c.req.param("userId"));
    const device = await readBody(c, Device);
    if ((await addDevice(db, c.var.tenant, userId, device)) === null) throw noUser();
    return c.json(device, 201);
  });

  routes.delete("/:userId/devices/:token", async (c) => {
    const userId = userOf(c.req.param("userId"));
    const token = pathParam("device", c.req.param("token"), DeviceToken, "not_found");
    if (!(await removeDevice(recipientDeps(c).db, c.var.tenant, userId, token))) {
      throw new AppError("not_found", { detail: "The user has no device with this token" });
    }
    return c.body(null, 204);
  });

  routes.get("/:userId/preferences", async (c) => {
    return c.json(await getPreferences(recipientDeps(c).db, c.var.tenant, userOf(c.req.param("userId"))));
  });

  routes.put("/:userId/preferences", async (c) => {
    const { db } = recipientDeps(c);
    const userId = userOf(c.req.param("userId"), "invalid_body");
    const { preferences } = await readBody(c, PreferencesBody);
    try {
      const tenant = c.var.tenant;
      const by = auditContext(c);
      const changes = preferences.map(({ category, channel, enabled }) => ({ category, channel, enabled }));
      return c.json(
        await recorded(
          db,
          (tx) => setPreferences(tx, tenant, userId, preferences),
          () => (changes.length === 0 ? null : { ...by, tenantId: tenant, action: "preferences.updated", target: userId, details: { changes } }),
        ),
      );
    } catch (err) {
      if (!isRequiredCategoryError(err)) throw err;
      throw new AppError("category_required", { detail: `The tenant marked ${err.categories.join(", ")} required: users cannot opt out`, cause: err });
    }
  });

  return routes;
}
