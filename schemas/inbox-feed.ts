import { z } from "zod";

/**
 * One in-app notification as an inbox stream shows it: what the processor
 * publishes on `inboxSubject` once it is sent, what the gateway replays from
 * Postgres, and the `data:` of an SSE `notification` event.
 */
export const InboxFeedItem = z.object({
  id: z.uuid(),
  title: z.string(),
  body: z.string(),
  data: z.record(z.string(), z.unknown()).nullable(),
  createdAt: z.iso.datetime(),
});
export type InboxFeedItem = z.infer<typeof InboxFeedItem>;
