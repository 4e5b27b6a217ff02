import { CHANNELS, type Channel } from "../schemas/enums.ts";
import type { TemplateContent, TemplatePayload, TemplateSend } from "../schemas/recipients.ts";
import { AppError, type FieldError } from "./errors.ts";

/** The version of a template new sends use. */
export interface PublishedTemplate {
  version: number;
  category: string;
  content: TemplateContent;
}

/** Which channels a recipient has an address for. */
export interface RecipientAddresses {
  email: boolean;
  sms: boolean;
  push: boolean;
}

/** What a send by template needs at accept time: the published version (cached), the variables check, the recipient. */
export interface TemplateSendDeps {
  published(tenant: string, name: string): Promise<PublishedTemplate | null>;
  /** `data` against the version's variables schema: field errors with paths under `data`. */
  validate(tenant: string, name: string, published: PublishedTemplate, data: unknown): FieldError[];
  /** The user's addresses; null when the tenant has no such user. */
  recipient(tenant: string, userId: string): Promise<RecipientAddresses | null>;
}

/** One notification a template send becomes: its channel and the payload the processor renders from. */
export interface TemplateItem {
  channel: Channel;
  payload: TemplatePayload;
}

const ADDRESSED = { email: "email address", sms: "phone number", push: "push device" } as const;

const bad = (errors: FieldError[], detail: string) => new AppError("invalid_body", { detail, errors });

/** The channels a template has content for, in any locale. */
function channelsOf(content: TemplateContent): Channel[] {
  return CHANNELS.filter((c) => Object.values(content.locales).some((l) => l[c] !== undefined));
}

/**
 * Checks a send by template against what can be known at accept time and
 * returns one item per channel: the template is published, has content for
 * each channel asked, `data` satisfies its variables, and the user exists
 * with an address for each channel that needs one. Anything else is a 400
 * naming the field, before anything is published. The version is fixed here:
 * publishing a newer one never changes what this send renders.
 */
export async function resolveTemplateSend(deps: TemplateSendDeps, tenant: string, req: TemplateSend): Promise<TemplateItem[]> {
  if (req.channel !== undefined && req.channels !== undefined)
    throw bad([{ path: "channels", message: "give channel or channels, not both" }], "The request body failed validation");
  const [published, recipient] = await Promise.all([deps.published(tenant, req.template), deps.recipient(tenant, req.userId)]);
  if (published === null)
    throw bad([{ path: "template", message: `no published template named ${req.template}` }], "The template does not exist or has no published version");
  const has = channelsOf(published.content);
  const wanted = req.channels ?? (req.channel ? [req.channel] : has);
  const missing = wanted.filter((c) => !has.includes(c));
  if (missing.length > 0)
    throw bad(
      missing.map((c) => ({ path: req.channels ? "channels" : "channel", message: `template ${req.template} v${published.version} has no ${c} content` })),
      "The template has no content for a channel asked",
    );
  const errors = deps.validate(tenant, req.template, published, req.data);
  if (errors.length > 0) throw bad(errors, "The template's data failed validation");
  const addressed = [...new Set(wanted)].filter((c): c is keyof typeof ADDRESSED => c in ADDRESSED);
  if (addressed.length > 0 && recipient === null)
    throw bad([{ path: "userId", message: `no user ${req.userId}: create it with PUT /v1/users/:userId` }], "The recipient is unknown");
  const noAddress = addressed.filter((c) => recipient !== null && !recipient[c]);
  if (noAddress.length > 0)
    throw bad(
      noAddress.map((c) => ({ path: "userId", message: `user ${req.userId} has no ${ADDRESSED[c]}` })),
      "The recipient has no address for a channel asked",
    );
  const template = { name: req.template, version: published.version, category: published.category };
  return [...new Set(wanted)].map((channel) => ({
    channel,
    payload: { template, data: req.data, ...(req.locale ? { locale: req.locale } : {}) },
  }));
}
