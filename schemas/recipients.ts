import { z } from "zod";
import { CHANNELS, DEVICE_PLATFORMS, NOTIFICATION_TYPES, PREFERENCE_CHANNELS, PRIORITIES } from "./enums.ts";

/**
 * Recipients, templates and preferences: the shapes the gateway's routes
 * accept, the tables store (schemas/tables.ts) and the processor resolves a
 * template send with.
 */

const E164 = /^\+[1-9]\d{1,14}$/;
const jsonObject = z.record(z.string(), z.unknown());

/** A tenant's user id, as `userId` on a send. */
export const UserId = z.string().min(1).max(256);

/** BCP 47 as templates use it: a language, optionally a region or script (`de`, `de-AT`, `zh-Hant`). */
export const Locale = z
  .string()
  .max(35)
  .regex(/^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$/, "must be a BCP 47 language tag such as de or de-AT");

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** An IANA time zone the runtime knows (`Europe/Berlin`). */
export const TimeZone = z.string().max(64).refine(isTimeZone, "must be an IANA time zone such as Europe/Berlin");

const clock = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, "must be a time of day HH:MM, 00:00–23:59");

/** A daily window in the user's time zone; `start` after `end` spans midnight (22:00–08:00). */
export const QuietHours = z
  .strictObject({ start: clock, end: clock })
  .refine((q) => q.start !== q.end, { message: "start and end must differ", path: ["end"] });
export type QuietHours = z.infer<typeof QuietHours>;

/** `PUT /v1/users/:userId` (every field) and `PATCH` (those given; null clears one). */
export const UserProfile = z.strictObject({
  email: z.email().max(320).nullable().optional(),
  phone: z.string().regex(E164, "must be an E.164 phone number such as +14155550100").nullable().optional(),
  locale: Locale.nullable().optional(),
  timeZone: TimeZone.nullable().optional(),
  quietHours: QuietHours.nullable().optional(),
  data: jsonObject.optional(),
});
export type UserProfile = z.infer<typeof UserProfile>;

/** A push device of a user. */
export const Device = z.strictObject({
  token: z.string().min(1).max(4096),
  platform: z.enum(DEVICE_PLATFORMS),
});
export type Device = z.infer<typeof Device>;

/** A template's or category's name: letters, digits, `.`, `_`, `-`. */
export const Slug = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, "must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit");

/** Each channel's content in one locale; strings are Liquid templates over the send's `data` and `user`. */
export const ChannelContents = z.strictObject({
  email: z.strictObject({ subject: z.string().min(1).max(998), text: z.string().min(1).max(100_000), html: z.string().max(200_000).optional() }).optional(),
  sms: z.strictObject({ body: z.string().min(1).max(1600) }).optional(),
  push: z.strictObject({ title: z.string().min(1).max(256), body: z.string().min(1).max(4096) }).optional(),
  in_app: z.strictObject({ title: z.string().min(1).max(256), body: z.string().min(1).max(10_000) }).optional(),
  /** `body` renders to JSON text; `url` is rendered too. */
  webhook: z.strictObject({ url: z.string().min(1).max(2048), body: z.string().min(1).max(100_000) }).optional(),
});
export type ChannelContents = z.infer<typeof ChannelContents>;

/** What a template holds: its variables as a JSON Schema, and its content per locale (`default` required). */
export const TemplateContent = z.strictObject({
  /** JSON Schema (draft 2020-12) of `data`; checked at accept time. */
  variables: jsonObject.default({ type: "object" }),
  locales: z
    .record(z.union([z.literal("default"), Locale]), ChannelContents)
    .refine((l) => "default" in l, { message: "must have a default locale", path: ["default"] }),
});
export type TemplateContent = z.infer<typeof TemplateContent>;

/** `POST /v1/templates` and `PUT /v1/templates/:name`: the draft and its category. */
export const TemplateDraft = z.strictObject({
  name: Slug.optional(),
  category: Slug,
  content: TemplateContent,
});
export type TemplateDraft = z.infer<typeof TemplateDraft>;

/**
 * A send by template: the user, the template and its data; the channel's
 * address comes from the user's profile. `channel` or `channels` picks the
 * channels (default: every channel the template has content for); each
 * channel is a notification of its own.
 */
export const TemplateSend = z.strictObject({
  userId: UserId,
  template: Slug,
  data: jsonObject.default({}),
  locale: Locale.optional(),
  channel: z.enum(CHANNELS).optional(),
  channels: z.array(z.enum(CHANNELS)).min(1).max(CHANNELS.length).optional(),
  type: z.enum(NOTIFICATION_TYPES).default("transactional"),
  priority: z.enum(PRIORITIES).default("normal"),
  scheduledFor: z.iso.datetime({ offset: true }).optional(),
  metadata: z.record(z.string().max(128), z.string().max(1024)).optional(),
});
export type TemplateSend = z.infer<typeof TemplateSend>;

/** What a template send's envelope carries as its payload: the version is fixed at accept time. */
export const TemplatePayload = z.strictObject({
  template: z.strictObject({ name: Slug, version: z.number().int().min(1), category: Slug }),
  data: jsonObject,
  locale: Locale.optional(),
});
export type TemplatePayload = z.infer<typeof TemplatePayload>;

/** `PUT /v1/categories/:category`. */
export const CategorySettings = z.strictObject({
  required: z.boolean().default(false),
  defaults: z.partialRecord(z.enum(CHANNELS), z.boolean()).default({}),
});
export type CategorySettings = z.infer<typeof CategorySettings>;

/** One preference: a category, a channel or `*`, on or off. */
export const Preference = z.strictObject({
  category: Slug,
  channel: z.enum(PREFERENCE_CHANNELS).default("*"),
  enabled: z.boolean(),
});
export type Preference = z.infer<typeof Preference>;
