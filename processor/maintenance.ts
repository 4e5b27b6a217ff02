import type { Logger } from "pino";
import { ensurePartitions } from "../lib/db/partitions.ts";
import { runRetention, type RetentionReport } from "../lib/db/retention.ts";
import { NOOP_METRICS, type MetricsRecorder } from "../lib/telemetry/recorder.ts";
import type { Sql } from "../schemas/database.ts";

/** How often each processor makes sure the month partitions ahead exist; a month ahead is made weeks before it is needed. */
const ENSURE_EVERY_MS = 3_600_000;

/** The first retention pass after a start waits at most this long, so processors restarted more often than the interval still run one. */
const FIRST_PASS_MAX_DELAY_MS = 60_000;

export interface MaintenanceDeps {
  /** One connection of its own per call (lib/db/connect.ts `session`): a pass holds a session lock. */
  session<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  log: Logger;
  metrics?: MetricsRecorder;
  options: {
    /** HERALD_RETENTION_DAYS. */
    retentionDays: number;
    /** HERALD_RETENTION_INTERVAL_S in ms; 0: no pass here (`herald retention` from cron instead), partitions are still kept ahead. */
    retentionEveryMs: number;
  };
}

export interface Maintenance {
  /** Makes the partitions ahead now, then keeps them ahead and runs retention on the interval. */
  start(): Promise<void>;
  /** Stops the timers; a pass in progress stops after its current statement. */
  stop(): Promise<void>;
}

/**
 * The processor's housekeeping: the month partitions ahead, and a retention
 * pass every interval. Every processor runs it; the passes take turns on
 * their lock, so one runs at a time across them.
 */
export function createMaintenance(deps: MaintenanceDeps): Maintenance {
  const { log, options } = deps;
  const metrics = deps.metrics ?? NOOP_METRICS;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let abort = new AbortController();
  const inFlight = new Set<Promise<void>>();

  const ensure = async () => {
    try {
      const report = await deps.session((sql) => ensurePartitions(sql, new Date()));
      if (report.created.length > 0) log.info({ created: report.created }, "month partitions made ahead");
      for (const s of report.skipped) log.warn({ month: s.suffix, reason: s.reason }, "a month partition was not made; its rows go to the default partition");
    } catch (err) {
      log.error({ err }, "could not make the month partitions ahead; retrying within the hour");
    }
  };

  const retain = async () => {
    const started = performance.now();
    try {
      const report = await deps.session((sql) =>
        runRetention(sql, {
          defaultDays: options.retentionDays,
          signal: abort.signal,
          onProgress(e) {
            const how = e.kind === "dropped" ? "dropped" : "deleted";
            metrics.retentionRemoved("notifications", how, e.notifications);
            metrics.retentionRemoved("delivery_attempts", how, e.attempts);
          },
        }),
      );
      logPass(log, report, performance.now() - started);
    } catch (err) {
      log.error({ err }, "the retention pass failed; the next one starts over");
    }
  };

  const every = (ms: number, firstMs: number, run: () => Promise<void>) => {
    const tick = (delay: number) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        const done = run().finally(() => {
          inFlight.delete(done);
          if (!abort.signal.aborted) tick(ms);
        });
        inFlight.add(done);
      }, delay);
      timers.add(timer);
    };
    tick(firstMs);
  };

  return {
    async start() {
      abort = new AbortController();
      await ensure();
      every(ENSURE_EVERY_MS, ENSURE_EVERY_MS, ensure);
      if (options.retentionEveryMs > 0) every(options.retentionEveryMs, Math.min(options.retentionEveryMs, FIRST_PASS_MAX_DELAY_MS), retain);
    },
    async stop() {
      abort.abort();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all(inFlight);
    },
  };
}

function logPass(log: Logger, report: RetentionReport, ms: number): void {
  if (report.busy) {
    log.info("retention pass skipped: another is running");
    return;
  }
  const line = {
    ms: Math.round(ms),
    longestDays: report.longestDays,
    dropped: report.dropped.map((d) => d.partition),
    droppedNotifications: report.dropped.reduce((n, d) => n + d.notifications, 0),
    deletedNotifications: report.deleted.notifications,
    deletedAttempts: report.deleted.attempts,
    kept: report.kept,
  };
  log.info(line, "retention pass done");
  if (report.defaultRows > 0) log.warn({ rows: report.defaultRows }, "notifications in the default partition: a month partition was missing when they came");
}
