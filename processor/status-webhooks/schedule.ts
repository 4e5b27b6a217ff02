/**
 * Seconds to wait before the next attempt once `attemptsMade` attempts of
 * this round have failed; null when the schedule is spent and the delivery is
 * dead. `schedule[i]` is the wait before attempt i + 1, so a schedule of n
 * entries allows n attempts.
 */
export function nextDelayS(schedule: readonly number[], attemptsMade: number): number | null {
  if (attemptsMade < 1) return schedule[0] ?? 0;
  return schedule[attemptsMade] ?? null;
}
