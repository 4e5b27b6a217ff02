import { InAppPayload } from "../../schemas/request.ts";
import { PermanentError } from "./errors.ts";
import type { SinkRecorder } from "./sink.ts";
import type { Sender } from "./types.ts";

/**
 * In-app notifications are delivered by being recorded: once the row is
 * `sent`, the user's inbox (`GET /v1/inbox`) shows it with its title, body
 * and data. So this sender calls nobody; it checks the payload, and hands
 * each delivery to `recorder` when one is given (tests, the dev console).
 */
export function createInboxSender(recorder?: SinkRecorder): Sender {
  return {
    provider: "inbox",
    async send(n, ctx) {
      const parsed = InAppPayload.safeParse(n.payload);
      if (!parsed.success) throw new PermanentError(`invalid in-app payload: ${parsed.error.issues[0]?.message ?? "unknown"}`);
      recorder?.record({ channel: "in_app", id: n.id, tenantId: n.tenantId, userId: n.userId, payload: n.payload, attempt: ctx.attempt, at: new Date() });
      return {};
    },
  };
}
