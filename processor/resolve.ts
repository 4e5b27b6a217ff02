import type { Channel } from "../schemas/enums.ts";
import type { Envelope } from "../schemas/envelope.ts";
import { TemplatePayload } from "../schemas/recipients.ts";
import type { Item, LaneContext } from "./context.ts";
import { heldStep } from "./lane-telemetry.ts";
import { userKey } from "../lib/db/users.ts";
import { quietUntil } from "./quiet-hours.ts";
import type { Recipient, Resolver } from "./resolver-types.ts";

export type { Recipient, Rendered, Resolver } from "./resolver-types.ts";

/** What the resolve step decided for one message. */
export type Resolution =
  | { kind: "send"; payload?: Record<string, unknown> } // as published (explicit), or rendered (template)
  | { kind: "quiet"; untilMs: number; payload?: Record<string, unknown> }
  | { kind: "suppress"; reason: string }
  | { kind: "fail"; error: string };

/** The channels quiet hours hold back; the inbox and tenants' webhooks are not interruptions. */
const QUIET_CHANNELS: readonly Channel[] = ["email", "sms", "push"];
/** The channels whose address a recipient profile supplies. */
const PROFILE_CHANNELS: readonly Channel[] = ["email", "sms", "push"];

export const optInKey = (tenantId: string, userId: string, category: string, channel: Channel): string =>
  `${tenantId}\u0000${userId}\u0000${category}\u0000${channel}`;

/** The address a template send goes to: the profile's email, phone or the first device of the right kind. */
function addressOf(channel: Channel, r: Recipient | undefined): string | null {
  if (r === undefined) return null;
  switch (channel) {
    case "email":
      return r.email;
    case "sms":
      return r.phone;
    case "push":
      return r.devices[0]?.token ?? null;
    case "webhook":
    case "in_app":
      return null;
    default:
      return channel satisfies never;
  }
}

const ADDRESS_NAMES: Record<Channel, string> = { email: "email address", sms: "phone number", push: "push device", webhook: "", in_app: "" };

/**
 * The batch's resolve step, before its claim: which messages are template
 * sends (rendered here, from the version fixed at accept time, with the
 * recipient's address and locale), which the recipient opted out of, and
 * which fall in the recipient's quiet hours. Explicit sends of channels with
 * no profile (webhooks, the inbox) cost nothing here; a batch of them makes
 * no query.
 */
export async function resolveBatch(ctx: LaneContext, items: Item[], nowMs: number): Promise<Map<string, Resolution>> {
  const out = new Map<string, Resolution>();
  const resolver = ctx.resolver;
  if (resolver === undefined) return out;
  const templated = new Map<string, TemplatePayload>();
  for (const { envelope: e } of items) {
    const t = "template" in e.payload ? TemplatePayload.safeParse(e.payload) : undefined;
    if (t?.success) templated.set(e.id, t.data);
  }
  const needsProfile = items.filter(({ envelope: e }) => templated.has(e.id) || (PROFILE_CHANNELS.includes(e.channel) && e.priority !== "urgent"));
  if (needsProfile.length === 0) return out;
  const optKeys = items.flatMap(({ envelope: e }) => {
    const t = templated.get(e.id);
    return t ? [{ tenantId: e.tenantId, userId: e.userId, category: t.template.category, channel: e.channel }] : [];
  });
  const [recipients, optedIn] = await heldStep(ctx, "resolve_recipients", needsProfile, () =>
    Promise.all([
      resolver.recipients(needsProfile.map(({ envelope: e }) => ({ tenantId: e.tenantId, userId: e.userId }))),
      optKeys.length > 0 ? resolver.optedIn(optKeys) : Promise.resolve(new Map<string, boolean>()),
    ]),
  );
  await Promise.all(
    needsProfile.map(async ({ envelope: e }) => {
      const recipient = recipients.get(userKey(e.tenantId, e.userId));
      const t = templated.get(e.id);
      let payload: Record<string, unknown> | undefined;
      if (t) {
        const category = t.template.category;
        if (optedIn.get(optInKey(e.tenantId, e.userId, category, e.channel)) === false) {
          out.set(e.id, { kind: "suppress", reason: `the user opted out of ${category} on ${e.channel}` });
          return;
        }
        const found = await renderFor(resolver, e, t, recipient);
        if (found.kind === "fail") {
          out.set(e.id, found);
          return;
        }
        payload = found.payload;
      }
      const until =
        e.priority !== "urgent" && QUIET_CHANNELS.includes(e.channel) && recipient?.quietHours && recipient.timeZone
          ? quietUntil(nowMs, recipient.timeZone, recipient.quietHours)
          : null;
      out.set(e.id, until === null ? { kind: "send", ...(payload ? { payload } : {}) } : { kind: "quiet", untilMs: until, ...(payload ? { payload } : {}) });
    }),
  );
  return out;
}

/** A template send's payload: rendered, addressed from the profile, with the unsubscribe link of a marketing email. */
async function renderFor(
  resolver: Resolver,
  e: Envelope,
  t: TemplatePayload,
  recipient: Recipient | undefined,
): Promise<{ kind: "send"; payload: Record<string, unknown> } | { kind: "fail"; error: string }> {
  const needsAddress = PROFILE_CHANNELS.includes(e.channel);
  const to = addressOf(e.channel, recipient);
  if (needsAddress && to === null) {
    const why = recipient === undefined ? `no user ${e.userId} (PUT /v1/users/:userId)` : `user ${e.userId} has no ${ADDRESS_NAMES[e.channel]}`;
    return { kind: "fail", error: `cannot send ${t.template.name}: ${why}` };
  }
  const rendered = await resolver.render(e, t, recipient);
  if (!rendered.ok) return { kind: "fail", error: `cannot render ${t.template.name} v${t.template.version}: ${rendered.error}` };
  const payload: Record<string, unknown> = needsAddress ? { ...rendered.payload, to } : rendered.payload;
  if (e.channel === "email" && e.type === "marketing" && resolver.unsubscribeUrl) {
    payload.listUnsubscribe = await resolver.unsubscribeUrl(e.tenantId, e.userId, t.template.category);
  }
  return { kind: "send", payload };
}
