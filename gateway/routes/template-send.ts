import type { Context as TraceContext } from "@opentelemetry/api";
import type { Context } from "hono";
import { TemplateSend } from "../../schemas/recipients.ts";
import { parseStorable } from "../../schemas/request.ts";
import { logInfo } from "../../lib/telemetry/log-lines.ts";
import { accept, batchItemKey, type Acceptance } from "../accept.ts";
import { resolveTemplateSend } from "../accept-template.ts";
import type { ResolvedDeps, TenantEnv } from "../context.ts";
import { capErrors, type CapHold } from "../daily-caps.ts";
import { AppError, invalidBody, isAppError, titleOf, type FieldError } from "../errors.ts";
import { claimOrReplay, releaseQuietly, settle } from "../idempotency.ts";
import { batchIdsForKey, idForKey } from "../ids.ts";
import { traceContextOf } from "../middleware/telemetry.ts";
import type { StoredResponse } from "../store/types.ts";
import { capRefused, holdCaps, JSON_HEADERS, keyedBy, replay, unavailable } from "./accept-common.ts";

/** A body is a send by template when it names one; an explicit send never has the key. */
export function isTemplateSend(body: unknown): boolean {
  return typeof body === "object" && body !== null && !Array.isArray(body) && "template" in body;
}

/** The channels' lines of a send by template that became several notifications. */
type ChannelResult =
  | { channel: string; status: "accepted" | "scheduled"; id: string; acceptedAt: string }
  | { channel: string; status: "rejected"; error: { status: 429 | 503; title: string; errors?: FieldError[] } };

/** What became of one channel's notification: published, its publish failed, or its daily cap refused it. */
type ChannelOutcome = { kind: "published" } | { kind: "failed"; reason: unknown } | { kind: "capped" };

/**
 * `POST /v1/notifications` with `{userId, template, data, …}`: checked
 * against the template and the recipient (resolveTemplateSend), then one
 * notification per channel, each published before the answer. One channel
 * answers like an explicit send; `channels`, or a template with several,
 * answers `{notifications: [...]}` (207 when some could not be published).
 */
export async function sendByTemplate(c: Context<TenantEnv>, body: unknown): Promise<Response> {
  const { deps, tenant, requestId } = c.var;
  if (deps.templateSends === undefined) throw new AppError("unavailable", { detail: "Sends by template are not wired on this gateway" });
  const parsed = parseStorable(TemplateSend, body);
  if (!parsed.success) throw invalidBody(parsed.error);
  const req = parsed.data;
  const items = await resolveTemplateSend(deps.templateSends, tenant, req).catch((err: unknown) => {
    if (isAppError(err)) throw err;
    // Postgres (the template, the recipient) did not answer: the client may retry; explicit sends never need it.
    throw new AppError("unavailable", { detail: "The templates and recipients store did not answer; retry", retryAfter: 1, cause: err });
  });
  const single = items.length === 1 && req.channels === undefined;
  const now = new Date();
  const trace = traceContextOf(c);
  let acceptances: Acceptance[];
  let scope = null;
  const common = { userId: req.userId, type: req.type, priority: req.priority, scheduledFor: req.scheduledFor, metadata: req.metadata };
  const base = { tenant, correlationId: requestId, now };
  if (single) {
    const keyed = await keyedBy(c, body, idForKey);
    scope = keyed?.scope ?? null;
    const [item] = items;
    if (item === undefined) throw new Error("a template send resolved to no channel");
    acceptances = [accept({ ...common, ...item }, { ...base, idempotencyKey: scope?.key ?? null, id: keyed?.ids, requestHash: scope?.bodyHash })];
  } else {
    const keyed = await keyedBy(c, body, batchIdsForKey);
    const s = keyed?.scope ?? null;
    scope = s;
    acceptances = items.map((item, i) =>
      accept({ ...common, ...item }, { ...base, idempotencyKey: s ? batchItemKey(s.key, i) : null, id: keyed?.ids(i), requestHash: s?.bodyHash }),
    );
  }
  const stored = scope ? await claimOrReplay(deps, scope, trace) : null;
  if (stored) return replay(c, stored);
  const held = holdCaps(c, scope, Object.fromEntries(acceptances.map((a) => [a.envelope.channel, 1])));
  const hold = held instanceof Promise ? await held : held;
  const admitted = acceptances.map((a) => hold === null || hold.admit(a.envelope.channel));
  // One channel asked, or every one past its cap: the request is refused as a whole.
  if (hold !== null && !admitted.some(Boolean)) return capRefused(c, scope, hold, req.channels ? "channels" : "channel");
  const outcomes = await publishAdmitted(deps, acceptances, admitted, hold, trace);
  const published = acceptances.filter((_, i) => outcomes[i]?.kind === "published");
  if (published.length === 0) {
    await releaseQuietly(deps, scope);
    const first = outcomes.find((o) => o.kind === "failed");
    throw unavailable(first?.kind === "failed" ? first.reason : undefined);
  }
  for (const a of published) {
    deps.metrics.accepted(a.envelope.channel, a.envelope.priority);
    logInfo(deps.logger, { correlationId: requestId, notificationId: a.envelope.id, tenantId: tenant, channel: a.envelope.channel }, "notification accepted", {
      template: req.template,
    });
  }
  const response: StoredResponse = single ? { status: 202, body: JSON.stringify(acceptances[0]?.body) } : several(acceptances, outcomes, hold);
  await settle(
    deps,
    tenant,
    scope,
    response,
    published.map((a) => a.view),
  );
  return c.body(response.body, response.status as 202 | 207, JSON_HEADERS);
}

/** Publishes the admitted notifications together; each failed one gives its count back. */
async function publishAdmitted(
  deps: ResolvedDeps,
  acceptances: Acceptance[],
  admitted: boolean[],
  hold: CapHold | null,
  trace: TraceContext,
): Promise<ChannelOutcome[]> {
  const outcomes = await Promise.all(
    acceptances.map((a, i): ChannelOutcome | Promise<ChannelOutcome> =>
      admitted[i]
        ? deps.publisher.publish(a.envelope, a.msgId, trace).then(
            () => ({ kind: "published" }),
            (reason: unknown) => ({ kind: "failed", reason }),
          )
        : { kind: "capped" },
    ),
  );
  const failed = acceptances.filter((_, i) => outcomes[i]?.kind === "failed").map((a) => a.envelope.channel);
  if (hold !== null && failed.length > 0) await hold.giveBack(failed);
  return outcomes;
}

function several(acceptances: Acceptance[], outcomes: ChannelOutcome[], hold: CapHold | null): StoredResponse {
  const notifications: ChannelResult[] = acceptances.map((a, i) => {
    const { channel } = a.envelope;
    switch (outcomes[i]?.kind) {
      case "published":
        return { channel, status: a.body.status, id: a.body.id, acceptedAt: a.body.acceptedAt };
      case "capped":
        return { channel, status: "rejected", error: { status: 429, title: titleOf("daily_cap"), errors: hold ? capErrors(hold, "channels", channel) : [] } };
      default:
        return { channel, status: "rejected", error: { status: 503, title: "Service Unavailable" } };
    }
  });
  const all = notifications.every((n) => n.status !== "rejected");
  return { status: all ? 202 : 207, body: JSON.stringify({ notifications }) };
}
