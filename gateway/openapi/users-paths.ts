import { z } from "zod";
import { EXPORT_PAGE_LIMIT, type ErasedCounts, type ExportedSuppression, type UserExport } from "../../lib/db/erasure.ts";
import type { CategoryView, EffectiveCategory, UserPreferences } from "../../lib/db/preferences.ts";
import type { UserView } from "../../lib/db/users.ts";
import { CHANNELS, DEVICE_PLATFORMS, PREFERENCE_CHANNELS } from "../../schemas/enums.ts";
import { CategorySettings, Device, UserProfile } from "../../schemas/recipients.ts";
import { PreferencesBody } from "../routes/users.ts";
import { errors, V1_ERRORS } from "./problems.ts";
import { embeddable, isoTime, nullable, objectOf, ok, param, REQUEST_ID, schemaRef, str } from "./shapes.ts";
import type { JsonSchema, Parameter, PathItem } from "./types.ts";

const count = (description?: string): JsonSchema => ({ type: "integer", minimum: 0, ...(description ? { description } : {}) });
const input = (schema: z.ZodType) => embeddable(z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }));
const perChannel = (description: string): JsonSchema => ({
  type: "object",
  properties: Object.fromEntries(CHANNELS.map((ch) => [ch, { type: "boolean" }])),
  additionalProperties: false,
  description,
});

/** The recipients' and categories' schemas: request bodies generated from the zod schemas the routes parse with, answers from their TS shapes. */
export function userSchemas(): Record<string, JsonSchema> {
  const device = objectOf<Device>({ token: str(), platform: str({ enum: [...DEVICE_PLATFORMS] }) });
  return {
    UserProfile: input(UserProfile),
    Device: input(Device),
    UserView: objectOf<UserView>({
      userId: str(),
      email: nullable(str()),
      phone: nullable(str({ description: "E.164" })),
      locale: nullable(str({ description: "BCP 47; templates fall back `de-AT` → `de` → default" })),
      timeZone: nullable(str({ description: "IANA; quiet hours are in it" })),
      quietHours: nullable({ type: "object", properties: { start: str(), end: str() }, required: ["start", "end"] }),
      data: { type: "object", description: "Yours; templates see it as `user.data`" },
      devices: { type: "array", items: device, description: "Push devices, oldest first" },
      createdAt: isoTime,
      updatedAt: isoTime,
    }),
    PreferencesRequest: input(PreferencesBody),
    UserPreferences: objectOf<UserPreferences>({
      userId: str(),
      preferences: {
        type: "array",
        description: "The user's own choices, by category and channel",
        items: objectOf<UserPreferences["preferences"][number]>({
          category: str(),
          channel: str({ enum: [...PREFERENCE_CHANNELS] }),
          enabled: { type: "boolean" },
        }),
      },
      categories: {
        type: "array",
        description: "Every category of the tenant and every one the user chose for, by name",
        items: objectOf<EffectiveCategory>({
          category: str(),
          required: { type: "boolean", description: "Users cannot opt out; every channel is on" },
          channels: perChannel(
            "Whether the user gets this category on each channel: their channel choice, else their `*` choice, else the category's default, else on",
          ),
        }),
      },
    }),
    CategorySettings: input(CategorySettings),
    Category: objectOf<CategoryView>({
      category: str(),
      required: { type: "boolean" },
      defaults: perChannel("The default for users who said nothing; a channel not named is on"),
      updatedAt: isoTime,
    }),
    CategoryList: objectOf<{ data: CategoryView[] }>({ data: { type: "array", items: schemaRef("Category") } }),
    UserErasure: objectOf<{ userId: string; erased: ErasedCounts & { deadLetters: number | null } }>({
      userId: str(),
      erased: objectOf<ErasedCounts & { deadLetters: number | null }>({
        profile: count("0 or 1"),
        devices: count(),
        preferences: count(),
        notifications: count("Notifications whose payload, metadata and error were erased; their ids, statuses and times stay"),
        attempts: count("Delivery attempts whose error text was erased"),
        cancelled: count("Notifications still waiting, cancelled so that nothing is sent with an erased payload"),
        suppressions: count("Suppressions of the user's addresses"),
        deadLetters: nullable(count("Dead letters deleted from the dead-letter stream; null: this gateway cannot reach it")),
      }),
    }),
    UserExport: objectOf<UserExport>({
      userId: str(),
      exportedAt: isoTime,
      profile: { oneOf: [schemaRef("UserView"), { type: "null" }] },
      preferences: { type: "array", items: { type: "object", properties: { category: str(), channel: str(), enabled: { type: "boolean" } } } },
      suppressions: {
        type: "array",
        items: objectOf<ExportedSuppression>({
          channel: str({ enum: [...CHANNELS] }),
          address: str(),
          reason: str(),
          source: str(),
          notificationId: nullable(str()),
          createdAt: isoTime,
        }),
      },
      notifications: {
        type: "array",
        items: {
          allOf: [
            schemaRef("NotificationView"),
            {
              type: "object",
              properties: { payload: { type: "object" }, readAt: nullable(isoTime), deliveryAttempts: { type: "array", items: schemaRef("AttemptView") } },
              required: ["payload", "readAt", "deliveryAttempts"],
            },
          ],
        },
      },
      truncated: { type: "boolean", description: "More notifications follow: ask again with `cursor`" },
      cursor: nullable(str()),
    }),
  };
}

const path = (name: string, description: string): Parameter => ({ name, in: "path", required: true, description, schema: { type: "string" } });
const USER = path("userId", "Your id of the user (1–256 characters)");
const BODY_ERRORS = ["BadRequest", "PayloadTooLarge", "UnsupportedMediaType"] as const;
const json = (schema: string, example: unknown) => ({ required: true, content: { "application/json": { schema: schemaRef(schema), example } } });
const noContent = (description: string) => ({ description, headers: REQUEST_ID });

/** `/v1/users` and `/v1/categories`: recipients, their devices and preferences, and the tenant's categories. */
export function userPaths(): Record<string, PathItem> {
  const tags = ["recipients"];
  const profile = {
    email: "ada@example.com",
    phone: "+14155550100",
    locale: "de-AT",
    timeZone: "Europe/Vienna",
    quietHours: { start: "22:00", end: "07:00" },
    data: { firstName: "Ada" },
  };
  return {
    "/v1/users/{userId}": {
      put: {
        operationId: "putUser",
        summary: "Create a user or replace their profile",
        description: "Every field: one left out is cleared. Devices are kept.",
        tags,
        parameters: [USER, param("RequestId")],
        requestBody: json("UserProfile", profile),
        responses: { "201": ok("Created", "UserView"), "200": ok("Replaced", "UserView"), ...errors(...BODY_ERRORS, ...V1_ERRORS) },
      },
      get: {
        operationId: "getUser",
        summary: "Read a user, with their devices",
        tags,
        parameters: [USER, param("RequestId")],
        responses: { "200": ok("The user", "UserView"), ...errors("UserNotFound", ...V1_ERRORS) },
      },
      patch: {
        operationId: "patchUser",
        summary: "Change some fields of a user's profile",
        description: "Only the fields given; `null` clears one.",
        tags,
        parameters: [USER, param("RequestId")],
        requestBody: json("UserProfile", { locale: "en", quietHours: null }),
        responses: { "200": ok("The user, changed", "UserView"), ...errors(...BODY_ERRORS, "UserNotFound", ...V1_ERRORS) },
      },
      delete: {
        operationId: "deleteUser",
        summary: "Erase a user's personal data (GDPR art. 17)",
        description:
          'Deletes the profile, devices, preferences, the suppressions of their addresses and their dead letters; keeps their notifications\' ids, statuses, times and counts, with payload `{"erased": true}`, no metadata and no error texts. Notifications still waiting are cancelled. Idempotent: a second erasure answers zeros.',
        tags,
        parameters: [USER, param("RequestId")],
        responses: { "200": ok("What was erased, by kind", "UserErasure"), ...errors(...V1_ERRORS) },
      },
    },
    "/v1/users/{userId}/export": {
      get: {
        operationId: "exportUser",
        summary: "Everything held about a user (GDPR art. 20)",
        description: `The profile, preferences, suppressions of their addresses, and their notifications with payloads and attempts, oldest first, at most ${EXPORT_PAGE_LIMIT} an answer: \`truncated\` says more follow; pass \`cursor\` for them.`,
        tags,
        parameters: [
          USER,
          { name: "cursor", in: "query", required: false, description: "The `cursor` of the previous answer", schema: { type: "string" } },
          param("RequestId"),
        ],
        responses: { "200": ok("The user's data", "UserExport"), ...errors("InvalidQuery", ...V1_ERRORS) },
      },
    },
    "/v1/users/{userId}/devices": {
      post: {
        operationId: "addDevice",
        summary: "Add a push device to a user",
        description: "Adding it again changes its platform. A token belongs to one user: another user of the tenant who had it loses it.",
        tags,
        parameters: [USER, param("RequestId")],
        requestBody: json("Device", { token: "fcm-or-apns-device-token", platform: "ios" }),
        responses: { "201": ok("Added", "Device"), ...errors(...BODY_ERRORS, "UserNotFound", ...V1_ERRORS) },
      },
    },
    "/v1/users/{userId}/devices/{token}": {
      delete: {
        operationId: "removeDevice",
        summary: "Remove a push device from a user",
        tags,
        parameters: [USER, path("token", "The device token, percent-encoded"), param("RequestId")],
        responses: { "204": noContent("Removed"), ...errors("DeviceNotFound", ...V1_ERRORS) },
      },
    },
    "/v1/users/{userId}/preferences": {
      get: {
        operationId: "getPreferences",
        summary: "A user's preferences, and what they add up to per category and channel",
        description: "What a settings page shows: every category, whether it is required, and whether the user gets it on each channel.",
        tags,
        parameters: [USER, param("RequestId")],
        responses: { "200": ok("The preferences", "UserPreferences"), ...errors(...V1_ERRORS) },
      },
      put: {
        operationId: "setPreferences",
        summary: "Set some of a user's preferences",
        description:
          "Each replaces the user's choice for its category and channel (`*`: every channel); choices not named stay. Opting out of a required category is refused with 409 and nothing is stored.",
        tags,
        parameters: [USER, param("RequestId")],
        requestBody: json("PreferencesRequest", {
          preferences: [
            { category: "marketing", channel: "*", enabled: false },
            { category: "marketing", channel: "in_app", enabled: true },
          ],
        }),
        responses: { "200": ok("The preferences, changed", "UserPreferences"), ...errors(...BODY_ERRORS, "CategoryRequired", ...V1_ERRORS) },
      },
    },
    "/v1/categories": {
      get: {
        operationId: "listCategories",
        summary: "The tenant's categories, by name",
        tags,
        parameters: [param("RequestId")],
        responses: { "200": ok("Every category", "CategoryList"), ...errors(...V1_ERRORS) },
      },
    },
    "/v1/categories/{category}": {
      put: {
        operationId: "putCategory",
        summary: "Create or replace a category",
        description: "`required`: users cannot opt out (security, billing). `defaults`: per channel, for users who said nothing; a channel not named is on.",
        tags,
        parameters: [path("category", "Lower-case letters, digits, `.`, `_`, `-`"), param("RequestId")],
        requestBody: json("CategorySettings", { required: false, defaults: { sms: false } }),
        responses: { "201": ok("Created", "Category"), "200": ok("Replaced", "Category"), ...errors(...BODY_ERRORS, ...V1_ERRORS) },
      },
      get: {
        operationId: "getCategory",
        summary: "Read a category",
        tags,
        parameters: [path("category", "The category's name"), param("RequestId")],
        responses: { "200": ok("The category", "Category"), ...errors("CategoryNotFound", ...V1_ERRORS) },
      },
    },
  };
}
