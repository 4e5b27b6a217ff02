import type { Logger } from "pino";

/**
 * How the batch pipeline tells a message Postgres refuses from a Postgres it
 * cannot reach: the first is isolated and failed, the second waited out with
 * the messages held (heartbeats keep them), so an outage neither fails nor
 * redelivers anything.
 */

/** The SQLSTATE of a Postgres error, wrapped or not (drizzle wraps postgres.js's and PGlite's errors in `cause`). */
export function sqlState(err: unknown): string | undefined {
  for (let e = err, depth = 0; typeof e === "object" && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/**
 * True when Postgres refused the data itself: a data exception (class 22), an
 * integrity violation (23: a taken idempotency key) or a program limit (54:
 * too deep, too large). Such a statement fails the same way every time, so
 * retrying it whole would wedge its batch; anything else (a lost connection,
 * a restart, a bug) is retried with the messages held.
 */
export function isRefusedData(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && ["22", "23", "54"].includes(state.slice(0, 2));
}

/** Why a held step gave up: the processor is stopping, so the batch's messages go back to the stream. */
export class StoppingError extends Error {
  override readonly name = "StoppingError";
}

export interface HoldOptions {
  log: Logger;
  /** True once the processor is draining: a step stops waiting for Postgres and the batch is returned. */
  stopping: () => boolean;
  /** First wait after a failure; doubles up to `maxWaitMs`. */
  firstWaitMs?: number;
  maxWaitMs?: number;
}

/**
 * Runs a Postgres step until it succeeds, waiting out failures that are not
 * the data's fault. Data Postgres refuses is thrown at once (see
 * `isRefusedData`); so is a failure once the processor is stopping.
 */
export async function holding<T>(step: string, run: () => Promise<T>, opts: HoldOptions): Promise<T> {
  let waitMs = opts.firstWaitMs ?? 100;
  const maxWaitMs = opts.maxWaitMs ?? 5000;
  for (let failures = 1; ; failures++) {
    try {
      return await run();
    } catch (err) {
      if (isRefusedData(err)) throw err;
      if (opts.stopping()) throw new StoppingError(`stopping while ${step} could not reach Postgres`, { cause: err });
      opts.log.error({ err, step, failures, retryInMs: waitMs }, "Postgres step failed; holding the batch and retrying");
      await Bun.sleep(waitMs);
      waitMs = Math.min(maxWaitMs, waitMs * 2);
    }
  }
}

/** A batch step's result per part of the batch, and the items Postgres refused on their own. */
export interface Isolated<T, R> {
  done: Array<{ items: T[]; result: R }>;
  refused: Array<{ item: T; error: unknown }>;
}

/**
 * Runs `run` on all items; when Postgres refuses the data, splits the items
 * in halves and runs each, down to the single items it refuses, so one bad
 * message costs its batch a few statements instead of failing every time.
 * Other errors propagate.
 */
export async function isolating<T, R>(items: T[], run: (part: T[]) => Promise<R>): Promise<Isolated<T, R>> {
  const out: Isolated<T, R> = { done: [], refused: [] };
  const visit = async (part: T[]): Promise<void> => {
    if (part.length === 0) return;
    try {
      out.done.push({ items: part, result: await run(part) });
    } catch (err) {
      if (!isRefusedData(err)) throw err;
      if (part.length === 1) {
        out.refused.push({ item: part[0] as T, error: err });
        return;
      }
      const mid = Math.ceil(part.length / 2);
      await visit(part.slice(0, mid));
      await visit(part.slice(mid));
    }
  };
  await visit(items);
  return out;
}

/** What an operator reads about a refused message: Postgres's own words and the SQLSTATE. */
export function refusalReason(err: unknown): string {
  const root = rootCause(err);
  const message = root instanceof Error ? root.message : String(root);
  const state = sqlState(err);
  if (state === "23505") return `its idempotency key already names another notification: ${message}`;
  return `Postgres refused to store it${state ? ` (SQLSTATE ${state})` : ""}: ${message}`;
}

function rootCause(err: unknown): unknown {
  let e = err;
  for (let depth = 0; depth < 5 && typeof e === "object" && e !== null && (e as { cause?: unknown }).cause !== undefined; depth++)
    e = (e as { cause?: unknown }).cause;
  return e;
}
