/**
 * Where Herald's log lines go: stdout, appended to one string and handed to
 * the kernel in chunks, with one write(2) per chunk instead of one per line.
 *
 * Why not pino's sonic-boom: with a line per accepted request, its per-write
 * bookkeeping (byte counting, a write queue, callbacks) is most of a line's
 * cost (bench/profile/log-lines.ts compares the two).
 *
 * The pipe to a log collector may be full. Writes never block the event loop:
 * bytes the kernel refuses (EAGAIN, or a partial write) wait and are retried,
 * lines keep being appended behind them, and past `maxBufferedBytes` new
 * lines are dropped and counted, then reported by a warn line once the pipe
 * drains, so a stuck collector costs log lines, not requests.
 */
import { writeSync } from "node:fs";
import type { DestinationStream } from "pino";

/** Writes from `bytes` to the destination; returns how many were taken. Throws EAGAIN when none were. */
export type WriteBytes = (bytes: Uint8Array) => number;

export interface LineBufferOptions {
  /** A chunk is written once this many characters are waiting. Default 4096. */
  minLength?: number;
  /** How long a line may wait for company before it is written anyway. Default 100 ms. */
  flushIntervalMs?: number;
  /** Refused bytes plus waiting lines beyond this are dropped (and counted). Default 8 MiB. */
  maxBufferedBytes?: number;
  /** Retry delay after the destination refused bytes. Default 10 ms. */
  retryMs?: number;
}

export interface LineBuffer extends DestinationStream {
  write(line: string): void;
  /** Writes what is waiting, as far as the destination takes it now. */
  flush(): void;
  /** Writes everything, waiting (bounded by `timeoutMs`) for a full pipe: for exit. */
  flushSync(timeoutMs?: number): void;
  /** Lines dropped so far because the destination stayed full. */
  readonly dropped: number;
  /** Stops the flush timer (the buffer keeps working, flushed on demand). */
  close(): void;
}

function isAgain(err: unknown): boolean {
  return typeof err === "object" && err !== null && "code" in err && (err as { code: unknown }).code === "EAGAIN";
}

/** A `WriteBytes` over a file descriptor (1 = stdout). */
export function fdWriter(fd: number): WriteBytes {
  return (bytes) => writeSync(fd, bytes);
}

export function createLineBuffer(write: WriteBytes, opts: LineBufferOptions = {}): LineBuffer {
  const minLength = opts.minLength ?? 4096;
  const maxBufferedBytes = opts.maxBufferedBytes ?? 8 * 1024 * 1024;
  const retryMs = opts.retryMs ?? 10;
  let text = "";
  /** Bytes the destination refused last time, written before any newer line. */
  let refused: Uint8Array | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let dropped = 0;
  let droppedReported = 0;

  /** Writes `bytes` as far as the destination takes them now; returns what is left. */
  function writeSome(bytes: Uint8Array): Uint8Array | null {
    let offset = 0;
    while (offset < bytes.length) {
      try {
        const n = write(offset === 0 ? bytes : bytes.subarray(offset));
        if (n <= 0) break;
        offset += n;
      } catch (err) {
        if (isAgain(err)) break;
        // EPIPE, EBADF: nobody will ever read these lines; let them go rather than crash the process over a log.
        return null;
      }
    }
    return offset < bytes.length ? bytes.subarray(offset) : null;
  }

  function scheduleRetry(): void {
    if (retry !== null) return;
    retry = setTimeout(() => {
      retry = null;
      flush();
    }, retryMs);
    retry.unref?.();
  }

  function droppedLine(): string {
    const n = dropped - droppedReported;
    droppedReported = dropped;
    return `{"level":40,"time":${Date.now()},"msg":"log lines dropped: the output stayed full","dropped":${n}}\n`;
  }

  function flush(): void {
    if (refused !== null) {
      refused = writeSome(refused);
      if (refused !== null) {
        scheduleRetry();
        return;
      }
    }
    if (dropped > droppedReported) text = droppedLine() + text;
    if (text.length === 0) return;
    const bytes = Buffer.from(text);
    text = "";
    refused = writeSome(bytes);
    if (refused !== null) scheduleRetry();
  }

  const timer = setInterval(flush, opts.flushIntervalMs ?? 100);
  timer.unref?.();

  return {
    write(line) {
      if (refused !== null && refused.length + text.length > maxBufferedBytes) {
        dropped++;
        return;
      }
      text += line;
      if (text.length >= minLength && refused === null) flush();
    },
    flush,
    flushSync(timeoutMs = 2_000) {
      const until = Date.now() + timeoutMs;
      const pause = new Int32Array(new SharedArrayBuffer(4));
      flush();
      while (refused !== null && Date.now() < until) {
        Atomics.wait(pause, 0, 0, 1);
        flush();
      }
    },
    get dropped() {
      return dropped;
    },
    close() {
      clearInterval(timer);
      if (retry !== null) clearTimeout(retry);
      retry = null;
    },
  };
}
