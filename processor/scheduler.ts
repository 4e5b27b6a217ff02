import type { Logger } from "pino";
import { NOOP_METRICS, timeQuery, type MetricsRecorder } from "../lib/telemetry/recorder.ts";
import type { Database } from "../schemas/database.ts";
import type { Topology } from "../schemas/subjects.ts";
import type { AckPublisher } from "../lib/nats/ack-publisher.ts";
import { releaseDue, type Released } from "../lib/db/schedules.ts";

export interface SchedulerOptions {
  /** How often to look for due entries when the last look found fewer than a full release. */
  pollMs: number;
  /** Entries released per transaction. */
  batchSize: number;
  /** Release transactions a scheduler runs at once (each takes its own entries). */
  concurrency?: number;
}

export interface SchedulerDeps {
  db: Database;
  /** The work stream's publisher: a release is durable once every message is acked. */
  publisher: AckPublisher;
  topo: Topology;
  log: Logger;
  options: SchedulerOptions;
  /** Releases counted and timed; default: nowhere. */
  metrics?: MetricsRecorder;
}

export interface Scheduler {
  start(): void;
  /** Stops looking; resolves once a release in progress has committed or rolled back. */
  stop(): Promise<void>;
}

/**
 * The work stream's dedupe id of a release: a second release of the same
 * entry (same due time) inside the window is dropped, while each replay of a
 * notification (a new attempt base) and each new wait of it (a schedule, then
 * quiet hours, then a provider: a new due time) is a release of its own.
 */
export function releaseMsgId(tenant: string, id: string, attemptBase: number, dueAt: Date): string {
  return `${tenant}:${id}:release:${attemptBase}:${dueAt.getTime()}`;
}

/**
 * Hands waiting notifications back to their lanes when they come due. Every
 * processor runs one; the entries live in Postgres and are taken with `skip
 * locked`, so any number of schedulers release each entry once, and a restart
 * of any of them loses nothing.
 */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { db, publisher, topo, log, options } = deps;
  const metrics = deps.metrics ?? NOOP_METRICS;
  let running = false;
  let loops: Promise<void>[] = [];
  const wakers = new Set<() => void>();

  const publish = async (due: Released[]): Promise<void> => {
    if (due.length === 0) return;
    const report = await publisher.publishAll(
      due.map(({ envelope: e, dueAt }) => ({
        subject: topo.sendSubject(e.priority, e.channel),
        data: JSON.stringify(e),
        msgId: releaseMsgId(e.tenantId, e.id, e.attemptBase ?? 0, dueAt),
      })),
    );
    if (report.failed > 0) throw new Error(`the work stream did not take ${report.failed} released notifications: ${report.firstError ?? "unknown"}`);
    const latest = Math.max(...due.map((d) => d.dueAt.getTime()));
    metrics.scheduleReleased(due.length, Math.max(0, (Date.now() - latest) / 1000));
  };

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      }
      wakers.add(done);
    });

  const run = async (): Promise<void> => {
    while (running) {
      try {
        const taken = await timeQuery(metrics, "release_schedules", () => releaseDue(db, options.batchSize, publish));
        if (taken < options.batchSize) await pause(options.pollMs);
      } catch (err) {
        log.error({ err }, "could not release due notifications; retrying in 1 s");
        await pause(1000);
      }
    }
  };

  return {
    start() {
      if (running) return;
      running = true;
      loops = Array.from({ length: options.concurrency ?? 1 }, run);
    },
    async stop() {
      running = false;
      for (const wake of [...wakers]) wake();
      await Promise.all(loops);
      loops = [];
    },
  };
}
