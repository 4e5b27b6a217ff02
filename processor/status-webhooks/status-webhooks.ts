import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { pruneDeliveries } from "../../lib/db/webhook-deliveries.ts";
import { endpointSealingKey } from "../../lib/db/webhook-endpoints.ts";
import type { AckPublisher } from "../../lib/nats/ack-publisher.ts";
import type { Database } from "../../schemas/database.ts";
import type { Topology } from "../../schemas/subjects.ts";
import { rememberVerdicts, type Resolve } from "../channels/private-address.ts";
import { runDispatcher } from "./dispatcher.ts";
import { postDelivery } from "./post.ts";
import { createDeliverySender, type SenderOptions } from "./sender.ts";

export interface StatusWebhookOptions extends Omit<SenderOptions, "perEndpoint"> {
  /** HERALD_WEBHOOK_ALLOW_PRIVATE: dev and tests only. */
  allowPrivate: boolean;
  /** HERALD_TOKEN_SECRET, which seals the endpoints' secrets; none: every attempt fails naming it. */
  tokenSecret?: string;
  /** HERALD_RETENTION_DAYS: deliveries of a tenant without a retention of its own go after this; 0: kept. */
  retentionDays: number;
  /** How often the prune pass runs; 0: never. */
  pruneEveryMs: number;
}

export interface StatusWebhookDeps {
  nc: NatsConnection;
  db: Database;
  topo: Topology;
  publisher: AckPublisher;
  log: Logger;
  options: StatusWebhookOptions;
  /** Injected for tests; the system resolver otherwise. */
  resolve?: Resolve;
  /** Told each batch's events and deliveries (the bench). */
  onBatch?(events: number, deliveries: number): void;
}

export interface StatusWebhooks {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Tenants' status webhooks: the fan-out of lifecycle events to delivery rows
 * (one durable consumer shared by every processor), the sender that POSTs
 * them, and the prune pass that keeps the deliveries within retention.
 */
export function createStatusWebhooks(deps: StatusWebhookDeps): StatusWebhooks {
  const { db, log, options } = deps;
  const abort = new AbortController();
  const pruneAbort = new AbortController();
  let stopping = false;
  let loop: Promise<void> | undefined;
  let pruneTimer: ReturnType<typeof setInterval> | undefined;
  let pruning: Promise<void> | undefined;
  const verdicts = rememberVerdicts(deps.resolve);

  const prune = () => {
    if (pruning !== undefined || options.retentionDays <= 0) return;
    pruning = pruneDeliveries(db, options.retentionDays, { signal: pruneAbort.signal })
      .then((n) => {
        if (n > 0) log.info({ deleted: n }, "status webhook deliveries past retention deleted");
      })
      .catch((err: unknown) => log.error({ err }, "the status webhook prune pass failed; the next one starts over"))
      .finally(() => {
        pruning = undefined;
      });
  };

  let sender: ReturnType<typeof createDeliverySender> | undefined;
  return {
    async start() {
      const key = options.tokenSecret === undefined ? undefined : await endpointSealingKey(options.tokenSecret);
      sender = createDeliverySender({
        db,
        log,
        // A quarter of the slots at most for one endpoint, so a slow one leaves the rest to the others.
        options: { ...options, perEndpoint: Math.max(1, Math.floor(options.concurrency / 4)) },
        post: (d) => postDelivery(d, { sealingKey: key, verdicts, allowPrivate: options.allowPrivate, timeoutMs: options.timeoutMs, signal: abort.signal }),
        disabled: (event) => deps.publisher.publish(deps.topo.opsSubject(event.type), JSON.stringify(event), event.eventId),
      });
      const consumer = await jetstream(deps.nc).consumers.get(deps.topo.streams.events, deps.topo.statusWebhooksConsumer);
      const active = sender;
      loop = runDispatcher({ db, consumer, log, queued: () => active.wake(), ...(deps.onBatch ? { onBatch: deps.onBatch } : {}) }, () => stopping).catch(
        (err: unknown) => log.fatal({ err }, "the status webhook fan-out loop crashed"),
      );
      sender.start();
      if (options.pruneEveryMs > 0) pruneTimer = setInterval(prune, options.pruneEveryMs);
      log.info({ concurrency: options.concurrency, schedule: options.schedule }, "status webhooks started");
    },
    async stop() {
      stopping = true;
      if (pruneTimer !== undefined) clearInterval(pruneTimer);
      pruneAbort.abort();
      await Promise.all([loop, sender?.stop(), pruning]);
      abort.abort();
    },
  };
}
