import { PREFERENCE_CHANNELS } from "../../schemas/enums.ts";
import type { UnsubscribeAnswer } from "../routes/unsubscribe.ts";
import { errors } from "./problems.ts";
import { objectOf, param, REQUEST_ID, schemaRef, str } from "./shapes.ts";
import type { JsonSchema, Operation, PathItem } from "./types.ts";

/** The one-click unsubscribe answer's schema. */
export function unsubscribeSchemas(): Record<string, JsonSchema> {
  return {
    UnsubscribeAnswer: objectOf<UnsubscribeAnswer>({
      result: str({ enum: ["unsubscribed", "required"], description: "`required`: the tenant marked the category required; nothing changed" }),
      category: str(),
      channel: str({ enum: [...PREFERENCE_CHANNELS], description: "`*`: every channel of the category" }),
    }),
  };
}

const html = { "text/html": { schema: { type: "string" } } };
const TOKEN = {
  name: "token",
  in: "path" as const,
  required: true,
  description: "From the message's `List-Unsubscribe` link: signed claims (tenant, user, category, channel, expiry)",
  schema: { type: "string" },
};
const REFUSALS: Operation["responses"] = errors("InvalidLink", "LinkExpired", "InternalError", "UnsubscribeOff");

/** `/v1/unsubscribe/{token}`: the one-click unsubscribe links of marketing email (RFC 8058); the signed link, not an API key, authenticates. */
export function unsubscribePaths(): Record<string, PathItem> {
  const tags = ["unsubscribe"];
  return {
    "/v1/unsubscribe/{token}": {
      get: {
        operationId: "unsubscribePage",
        summary: "A page with a button that unsubscribes",
        description: "Changes nothing: mail scanners follow links. The button POSTs to the same URL.",
        tags,
        security: [],
        parameters: [TOKEN, param("RequestId")],
        responses: { "200": { description: "The page", headers: REQUEST_ID, content: html }, ...REFUSALS },
      },
      post: {
        operationId: "unsubscribe",
        summary: "Unsubscribe in one click",
        description:
          "What a mail client sends for `List-Unsubscribe-Post: List-Unsubscribe=One-Click`: the user's preference for the link's category and channel is turned off. Idempotent. The body (`List-Unsubscribe=One-Click`, form-encoded) may be left out. A browser (`Accept: text/html`) gets a page instead of JSON.",
        tags,
        security: [],
        parameters: [TOKEN, param("RequestId")],
        requestBody: {
          required: false,
          content: { "application/x-www-form-urlencoded": { schema: { type: "object", properties: { "List-Unsubscribe": { const: "One-Click" } } } } },
        },
        responses: {
          "200": {
            description: "Unsubscribed (again), or a required category left on",
            headers: REQUEST_ID,
            content: { "application/json": { schema: schemaRef("UnsubscribeAnswer") }, ...html },
          },
          ...REFUSALS,
        },
      },
    },
  };
}
