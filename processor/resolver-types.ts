import type { RecipientProfile } from "../lib/db/users.ts";
import type { Channel } from "../schemas/enums.ts";
import type { Envelope } from "../schemas/envelope.ts";
import type { TemplatePayload } from "../schemas/recipients.ts";

// The resolve step's lookups, apart from processor/resolve.ts so the lane context can name them without a cycle.

/** What the processor knows of a recipient: their addresses, language, time zone and quiet hours. */
export type Recipient = Omit<RecipientProfile, "userId">;

/** What a template send renders into: the channel's payload without its address. */
export type Rendered = { ok: true; payload: Record<string, unknown>; locale: string } | { ok: false; error: string };

/**
 * The lookups a batch's resolve step needs, each one statement for the whole
 * batch (or a cache), wired in processor.ts from lib/db and lib/templates.
 */
export interface Resolver {
  /** The recipients among the keys that have a profile, keyed by lib/db/users.ts `userKey`. */
  recipients(keys: Array<{ tenantId: string; userId: string }>): Promise<Map<string, Recipient>>;
  /** Whether each (tenant, user, category) may receive on the channel: preferences and the category's defaults. */
  optedIn(keys: Array<{ tenantId: string; userId: string; category: string; channel: Channel }>): Promise<Map<string, boolean>>;
  /** Renders the template version for the channel in the first locale of the chain that has it. */
  render(e: Envelope, payload: TemplatePayload, recipient: Recipient | undefined): Promise<Rendered>;
  /** The one-click unsubscribe URL for a marketing email of a category; undefined when not configured. */
  unsubscribeUrl?(tenantId: string, userId: string, category: string): Promise<string>;
}
