import type { Logger } from "pino";
import { claimDue, failPending, recordAttempt, type AttemptResult, type ClaimedDelivery } from "../../lib/db/webhook-deliveries.ts";
import { noteEndpointFailure, noteEndpointSuccess } from "../../lib/db/webhook-endpoints.ts";
import type { Database } from "../../schemas/database.ts";
import type { EndpointDisabledEvent } from "../../schemas/ops-events.ts";
import type { WebhookEndpointRow } from "../../schemas/tables.ts";
import { nextDelayS } from "./schedule.ts";

export interface SenderOptions {
  /** Seconds before each attempt (HERALD_STATUS_WEBHOOK_RETRY_SCHEDULE_S). */
  schedule: readonly number[];
  disableAfterMs: number;
  timeoutMs: number;
  /** POSTs in flight here at once. */
  concurrency: number;
  /** POSTs in flight to one endpoint at once: a slow endpoint holds at most these slots. */
  perEndpoint: number;
  pollMs: number;
}

export interface SenderDeps {
  db: Database;
  log: Logger;
  options: SenderOptions;
  /** Sends one attempt; never throws (post.ts `postDelivery`). */
  post(d: ClaimedDelivery): Promise<AttemptResult>;
  /** Publishes the operational event of an endpoint disabled here. */
  disabled(event: EndpointDisabledEvent): Promise<void>;
}

export interface DeliverySender {
  start(): void;
  /** Looks for due deliveries now (new ones were queued). */
  wake(): void;
  /** Stops claiming and waits for the POSTs in flight. */
  stop(): Promise<void>;
}

/** Every processor's sender claims due deliveries from Postgres (lib/db/webhook-deliveries.ts `claimDue`) and POSTs them with bounded concurrency. */
export function createDeliverySender(deps: SenderDeps): DeliverySender {
  const { db, log, options } = deps;
  const perEndpoint = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();
  let claiming: Promise<void> | undefined;
  let again = false;
  let stopping = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  // Past the POST's deadline, so a live claim is never taken over.
  const leaseMs = options.timeoutMs + 30_000;

  const settle = async (d: ClaimedDelivery, result: AttemptResult) => {
    const retryInS = result.ok ? null : nextDelayS(options.schedule, d.roundAttempt);
    const status = await recordAttempt(db, d, result, retryInS);
    if (status === null) return;
    if (result.ok) {
      await noteEndpointSuccess(db, d.endpointId);
      return;
    }
    const note = await noteEndpointFailure(db, d.endpointId, options.disableAfterMs);
    if (note?.kind !== "disabled") return;
    const reason = note.row.disabledReason ?? "failing";
    const failed = await failPending(db, d.endpointId, `endpoint disabled: ${reason}`);
    log.warn({ endpointId: d.endpointId, tenantId: d.tenantId, failed }, "status webhook endpoint disabled: its deliveries kept failing");
    await deps.disabled(disabledEvent(note.row, note.since));
  };

  const send = (d: ClaimedDelivery) => {
    perEndpoint.set(d.endpointId, (perEndpoint.get(d.endpointId) ?? 0) + 1);
    const task: Promise<void> = deps
      .post(d)
      .then((result) => settle(d, result))
      .catch((err: unknown) => log.error({ err, deliveryId: d.id }, "could not record a status webhook attempt; it is retried after its lease"))
      .finally(() => {
        inFlight.delete(task);
        const left = (perEndpoint.get(d.endpointId) ?? 1) - 1;
        if (left > 0) perEndpoint.set(d.endpointId, left);
        else perEndpoint.delete(d.endpointId);
        wake();
      });
    inFlight.add(task);
  };

  const claimRound = async () => {
    do {
      again = false;
      const free = options.concurrency - inFlight.size;
      if (free <= 0 || stopping) return;
      const full = [...perEndpoint].filter(([, n]) => n >= options.perEndpoint).map(([id]) => id);
      const claimed = await claimDue(db, { limit: free, perEndpoint: options.perEndpoint, skipEndpoints: full, leaseMs });
      for (const d of claimed) send(d);
      if (claimed.length === free) again = true;
    } while (again && !stopping);
  };

  function wake(): void {
    if (stopping) return;
    if (claiming !== undefined) {
      again = true;
      return;
    }
    claiming = claimRound()
      .catch((err: unknown) => log.error({ err }, "could not claim due status webhook deliveries; trying again at the next poll"))
      .finally(() => {
        claiming = undefined;
        // A wake that came while the last round was ending.
        if (again) wake();
      });
  }

  return {
    start() {
      stopping = false;
      timer = setInterval(wake, options.pollMs);
      wake();
    },
    wake,
    async stop() {
      stopping = true;
      if (timer !== undefined) clearInterval(timer);
      await claiming;
      await Promise.all(inFlight);
    },
  };
}

function disabledEvent(row: WebhookEndpointRow, since: Date): EndpointDisabledEvent {
  const at = (row.disabledAt ?? new Date()).toISOString();
  return {
    v: 1,
    type: "endpoint_disabled",
    eventId: `${row.id}:endpoint_disabled:${at}`,
    tenantId: row.tenantId,
    endpointId: row.id,
    url: row.url,
    at,
    failingSince: since.toISOString(),
    reason: row.disabledReason ?? "failing",
  };
}
