import type { z } from "zod";
import { isStorableText, storableIssues } from "../schemas/storable.ts";
import { readJsonBody } from "./body.ts";
import type { RecipientDeps, ResolvedDeps } from "./context.ts";
import { AppError, invalidBody } from "./errors.ts";

/** What these helpers read of a route's context, whichever env it has. */
interface RouteContext {
  var: { deps: ResolvedDeps };
  req: { raw: Request };
}

/** The recipient routes' dependencies, or a 503: a gateway built without a database for them. */
export function recipientDeps(c: RouteContext): RecipientDeps {
  const deps = c.var.deps.recipients;
  if (deps === undefined) throw new AppError("unavailable", { detail: "Recipients are not wired to the database on this gateway" });
  return deps;
}

/** The JSON body parsed by `schema`: 413, 415, then 400 with every field's path (text Postgres cannot store included). */
export async function readBody<S extends z.ZodType>(c: RouteContext, schema: S): Promise<z.infer<S>> {
  const body = await readJsonBody(c.req.raw, c.var.deps.options.bodyLimitBytes);
  const unstorable = storableIssues(body);
  if (unstorable.length > 0) {
    throw new AppError("invalid_body", {
      detail: "The request body failed validation",
      errors: unstorable.map((i) => ({ path: i.path.join("."), message: i.message })),
    });
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalidBody(parsed.error);
  return parsed.data;
}

/**
 * A path segment checked by `schema`. What can never name a stored row
 * answers like a missing one (`notFound`); a route that creates passes
 * `invalidBody` to answer 400 with the parameter's name as the path.
 */
export function pathParam<S extends z.ZodType<string>>(name: string, value: string, schema: S, invalid: "not_found" | "invalid_body"): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success && isStorableText(value)) return parsed.data;
  if (invalid === "not_found") throw new AppError("not_found", { detail: `No such ${name}` });
  const message = parsed.success ? "must not contain NUL characters or unpaired UTF-16 surrogates" : (parsed.error.issues[0]?.message ?? "invalid");
  throw new AppError("invalid_body", { detail: "The path failed validation", errors: [{ path: name, message }] });
}
