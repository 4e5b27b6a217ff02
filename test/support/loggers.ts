import pino, { type Level, type Logger } from "pino";

/** Silent unless HERALD_TEST_LOG names a level, to read a failing test's logs. */
export const silentLogger: Logger = pino({ level: process.env.HERALD_TEST_LOG ?? "silent" });

/** A logger at `level` whose lines are kept, parsed, in `lines`. */
export function captureLogs<Line = Record<string, unknown>>(level: Level): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) });
  return { logger, lines };
}
