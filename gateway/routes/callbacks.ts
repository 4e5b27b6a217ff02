import { Hono, type Context } from "hono";
import type { DeliveryReports, MovedNotification, ReportedNotification, Suppression } from "../../schemas/delivery-reports.ts";
import type { DeliveryReportStatus, SuppressionSource } from "../../schemas/enums.ts";
import { lifecycleEvent } from "../../schemas/events.ts";
import { suppressionAddress } from "../../lib/db/suppressions.ts";
import { logInfo } from "../../lib/telemetry/log-lines.ts";
import { readLimited } from "../body.ts";
import { readResend, readTwilio, ResendEvent, type CallbackReading } from "../callbacks/readings.ts";
import { verifyResend, verifyTwilio } from "../callbacks/signatures.ts";
import type { BaseEnv, CallbackDeps } from "../context.ts";
import { AppError, invalidBody } from "../errors.ts";

/** The 200 of every callback that was signed: whether it changed anything, and what. */
export interface CallbackAnswer {
  result: "applied" | "ignored";
  detail: string;
  /** The notifications it moved, with their new status. */
  notifications: Array<{ id: string; status: DeliveryReportStatus }>;
  /** Addresses newly suppressed for the notification's tenant. */
  suppressed: number;
}

const decoder = new TextDecoder();

/**
 * `/v1/callbacks/*`: what providers say after they accepted a message. No API
 * key: the provider's signature authenticates the request (401 without a
 * valid one, nothing changed); a provider whose secret is not configured
 * answers 503. A signed callback always answers 200, saying whether it
 * changed anything, so the provider does not retry one Herald chose to ignore.
 */
export function callbackRoutes(): Hono<BaseEnv> {
  const routes = new Hono<BaseEnv>();

  routes.post("/twilio", async (c) => {
    const { reports, twilio = off("twilio") } = wired(c.var.deps.callbacks);
    const form = new URLSearchParams(decoder.decode(await readLimited(c.req.raw, c.var.deps.options.bodyLimitBytes)));
    await verifyTwilio(twilio.authToken, twilio.callbackUrl, form, c.req.header("x-twilio-signature"));
    return c.json(await settle(c, reports, readTwilio(form, new Date())));
  });

  routes.post("/resend", async (c) => {
    const { reports, resend = off("resend") } = wired(c.var.deps.callbacks);
    const body = decoder.decode(await readLimited(c.req.raw, c.var.deps.options.bodyLimitBytes));
    const header = (name: string) => c.req.header(name);
    verifyResend(resend.secret, body, { "svix-id": header("svix-id"), "svix-timestamp": header("svix-timestamp"), "svix-signature": header("svix-signature") });
    const event = ResendEvent.safeParse(parseJson(body));
    if (!event.success) throw invalidBody(event.error, "The signed body is not a Resend webhook event");
    return c.json(await settle(c, reports, readResend(event.data, new Date())));
  });

  return routes;
}

function wired(deps: CallbackDeps | undefined): CallbackDeps {
  if (deps === undefined) throw new AppError("unavailable", { detail: "Delivery callbacks are not wired to the database on this gateway" });
  return deps;
}

const KEYS = { twilio: "TWILIO_AUTH_TOKEN and TWILIO_STATUS_CALLBACK_URL", resend: "HERALD_RESEND_WEBHOOK_SECRET" } as const;

/** A 503 naming the keys that turn the provider's callbacks on. */
function off(provider: keyof typeof KEYS): never {
  throw new AppError("unavailable", { detail: `${provider} callbacks are off: set ${KEYS[provider]} on the gateway` });
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new AppError("invalid_body", { detail: "The signed body is not JSON" });
  }
}

/** Suppressions of the notifications' recipients, each for its own tenant; notifications without an address give none. */
function suppressionsOf(found: ReportedNotification[], source: SuppressionSource, reason: string): Suppression[] {
  return found.flatMap((n) => {
    const address = suppressionAddress(n.channel, n.payload);
    return address === null ? [] : [{ tenantId: n.tenantId, channel: n.channel, address, reason, source, notificationId: n.id }];
  });
}

/** Applies what the callback asks, publishes an event per move, and says what changed. */
async function settle(c: Context<BaseEnv>, reports: DeliveryReports, reading: CallbackReading): Promise<CallbackAnswer> {
  const answer = (detail: string, moved: MovedNotification[] = [], suppressed = 0): CallbackAnswer => ({
    result: moved.length > 0 || suppressed > 0 ? "applied" : "ignored",
    detail,
    notifications: moved.map((m) => ({ id: m.id, status: m.status })),
    suppressed,
  });
  if (reading.kind === "ignored") return answer(reading.detail);
  const { provider, providerMessageId } = reading.kind === "report" ? reading.report : reading;
  const suppress = reading.kind === "complaint" ? { source: "complaint" as const, reason: reading.reason } : reading.suppress;
  // Looked up first only when an address is to be suppressed; a retried callback completes what a failed one began.
  const found = suppress ? await reports.find(provider, [providerMessageId]) : undefined;
  const suppressed = suppress && found ? await reports.suppress(suppressionsOf(found, suppress.source, suppress.reason)) : 0;
  const moved = reading.kind === "report" ? await reports.apply([reading.report]) : [];
  await publishMoves(c, moved, { provider, providerMessageId });
  if (moved.length > 0) return answer(`Moved to ${moved[0]?.status}`, moved, suppressed);
  const known = found ?? (await reports.find(provider, [providerMessageId]));
  if (known.length === 0) return answer(`No notification was sent through ${provider} with the id ${providerMessageId.slice(0, 64)}`);
  if (reading.kind === "complaint")
    return answer(suppressed > 0 ? "The recipient's address is suppressed" : "The recipient's address was already suppressed", [], suppressed);
  return answer(`The notification is ${known[0]?.status}; a ${reading.report.status} report does not move it`, [], suppressed);
}

/** The states are committed; an event that does not go out is logged, as the processor does with its own. */
async function publishMoves(c: Context<BaseEnv>, moved: MovedNotification[], by: { provider: string; providerMessageId: string }): Promise<void> {
  const { deps, requestId } = c.var;
  for (const m of moved) {
    logInfo(deps.logger, { correlationId: requestId, notificationId: m.id, tenantId: m.tenantId, channel: m.channel }, `notification ${m.status}`);
    if (deps.events === undefined) continue;
    const event = lifecycleEvent(m.status, m, { at: m.at, ...by, ...(m.reason === null ? {} : { error: m.reason }) });
    await deps.events
      .publish(event)
      .catch((err: unknown) => deps.logger.warn({ err, notificationId: m.id, tenantId: m.tenantId }, `${m.status}, but the lifecycle event was not published`));
  }
}
