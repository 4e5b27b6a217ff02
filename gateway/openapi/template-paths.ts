import { z } from "zod";
import type { TemplateSummary, TemplateView } from "../../lib/db/templates.ts";
import { CHANNELS } from "../../schemas/enums.ts";
import { TemplateDraft } from "../../schemas/recipients.ts";
import { PreviewRequest } from "../routes/templates.ts";
import { errors, V1_ERRORS } from "./problems.ts";
import { embeddable, isoTime, nullable, objectOf, ok, param, schemaRef, str } from "./shapes.ts";
import type { JsonSchema, Parameter, PathItem } from "./types.ts";

const EXAMPLE_DRAFT = {
  name: "order-shipped",
  category: "orders",
  content: {
    variables: { type: "object", required: ["order"], properties: { order: { type: "object", required: ["id"], properties: { id: { type: "string" } } } } },
    locales: {
      default: {
        email: {
          subject: "Order {{ data.order.id }} shipped",
          text: "Hi {{ user.data.firstName | default: 'there' }}",
          html: "<p>Order <b>{{ data.order.id }}</b></p>",
        },
        sms: { body: "Order {{ data.order.id }} shipped" },
      },
      de: { email: { subject: "Bestellung {{ data.order.id }} verschickt", text: "Hallo {{ user.data.firstName | default: 'zusammen' }}" } },
    },
  },
};

const input = (schema: z.ZodType) => embeddable(z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }));
const version = { type: "integer", minimum: 1 };

/** The template answers' schemas; the request bodies are generated from the zod schemas the route parses with. */
export function templateSchemas(): Record<string, JsonSchema> {
  const summary = {
    name: str(),
    category: str(),
    publishedVersion: nullable({ ...version, description: "The version new sends use; null until the first publish" }),
    createdAt: isoTime,
    updatedAt: isoTime,
  };
  const rendered: JsonSchema = {
    type: "object",
    required: ["locale", "payload"],
    properties: {
      locale: str({ description: "The locale whose content was used, after the fallback (`de-AT` → `de` → `default`)" }),
      payload: { type: "object", description: "The channel's payload as an explicit send would carry it, without the address (`to`)" },
    },
  };
  return {
    TemplateDraft: input(TemplateDraft),
    TemplatePreviewRequest: input(PreviewRequest),
    TemplateSummary: objectOf<TemplateSummary>(summary),
    TemplateView: objectOf<TemplateView>({
      ...summary,
      draft: { type: "object", description: "The draft's content: `variables` (a JSON Schema) and `locales`" },
      versions: {
        type: "array",
        description: "Published versions, newest first; a version never changes",
        items: objectOf<TemplateView["versions"][number]>({ version, publishedAt: isoTime }),
      },
    }),
    TemplatePage: objectOf<{ data: unknown; nextCursor: unknown }>({
      data: { type: "array", items: schemaRef("TemplateSummary") },
      nextCursor: nullable(str({ description: "Pass as `cursor` for the next page; null on the last page" })),
    }),
    TemplatePublished: objectOf<{ name: string; version: number }>({ name: str(), version }),
    TemplatePreview: objectOf<{ name: string; version: unknown; channels: unknown }>({
      name: str(),
      version: { oneOf: [version, { const: "draft" }] },
      channels: {
        type: "object",
        description: "Each channel rendered; a channel whose locale chain finds no content is left out",
        properties: Object.fromEntries(CHANNELS.map((c) => [c, rendered])),
        additionalProperties: false,
      },
    }),
  };
}

const NAME: Parameter = {
  name: "name",
  in: "path",
  required: true,
  description: "The template's name",
  schema: { type: "string", pattern: "^[a-z0-9][a-z0-9._-]*$", maxLength: 128 },
};
const BODY_ERRORS = ["BadRequest", "PayloadTooLarge", "UnsupportedMediaType"] as const;

/** `/v1/templates`: drafts, published versions and previews. */
export function templatePaths(): Record<string, PathItem> {
  const tags = ["templates"];
  const draftBody = (example: unknown) => ({ required: true, content: { "application/json": { schema: schemaRef("TemplateDraft"), example } } });
  const { name: _name, ...unnamed } = EXAMPLE_DRAFT;
  return {
    "/v1/templates": {
      post: {
        operationId: "createTemplate",
        summary: "Create a template with its first draft",
        description: "`name` is required here. Every string is parsed as Liquid; one that does not parse is a 400 naming its field.",
        tags,
        parameters: [param("RequestId")],
        requestBody: draftBody(EXAMPLE_DRAFT),
        responses: { "201": ok("Created", "TemplateView"), ...errors(...BODY_ERRORS, "TemplateExists", ...V1_ERRORS) },
      },
      get: {
        operationId: "listTemplates",
        summary: "The tenant's templates by name",
        description: "Keyset pagination: pass `nextCursor` back as `cursor`.",
        tags,
        parameters: [
          { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
          { name: "cursor", in: "query", required: false, schema: { type: "string", minLength: 1, maxLength: 512 } },
          param("RequestId"),
        ],
        responses: { "200": ok("One page", "TemplatePage"), ...errors("InvalidQuery", ...V1_ERRORS) },
      },
    },
    "/v1/templates/{name}": {
      get: {
        operationId: "getTemplate",
        summary: "A template: its draft and published versions",
        tags,
        parameters: [NAME, param("RequestId")],
        responses: { "200": ok("The template", "TemplateView"), ...errors("TemplateNotFound", ...V1_ERRORS) },
      },
      put: {
        operationId: "putTemplate",
        summary: "Create a template or replace its draft",
        description: "Published versions stay as they are; sends use the published version until the next publish.",
        tags,
        parameters: [NAME, param("RequestId")],
        requestBody: draftBody(unnamed),
        responses: { "200": ok("Draft replaced", "TemplateView"), "201": ok("Created", "TemplateView"), ...errors(...BODY_ERRORS, ...V1_ERRORS) },
      },
    },
    "/v1/templates/{name}/publish": {
      post: {
        operationId: "publishTemplate",
        summary: "Publish the draft as the next version",
        description: "Versions count up from 1; new sends use the new version, sends already accepted keep theirs. No request body.",
        tags,
        parameters: [NAME, param("RequestId")],
        responses: { "200": ok("Published", "TemplatePublished"), ...errors("TemplateNotFound", "TemplateInvalid", ...V1_ERRORS) },
      },
    },
    "/v1/templates/{name}/preview": {
      post: {
        operationId: "previewTemplate",
        summary: "Render the draft or a version with sample data, sending nothing",
        description: "`data` is checked against the version's variables (400 with `data.*` paths); each channel renders with the locale it falls back to.",
        tags,
        parameters: [NAME, param("RequestId")],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: schemaRef("TemplatePreviewRequest"),
              example: { data: { order: { id: "o-1" } }, user: { data: { firstName: "Ann" } }, locale: "de-AT", version: "draft" },
            },
          },
        },
        responses: { "200": ok("Rendered per channel", "TemplatePreview"), ...errors(...BODY_ERRORS, "TemplateNotFound", "TemplateInvalid", ...V1_ERRORS) },
      },
    },
  };
}
