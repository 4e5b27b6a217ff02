import type { QuietHours } from "../schemas/recipients.ts";

/**
 * Quiet hours: a daily window in the user's time zone during which
 * non-urgent notifications wait. Pure: the clock comes in as an argument, so
 * the daylight-saving nights are tested with fixed instants.
 */

interface Wall {
  year: number;
  month: number;
  day: number;
  minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock date and minute of the day of an instant in a time zone. */
function wallAt(ms: number, timeZone: string): Wall {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(ms)) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return { year: parts.year ?? 0, month: parts.month ?? 1, day: parts.day ?? 1, minutes: (parts.hour ?? 0) * 60 + (parts.minute ?? 0) };
}

/** The wall clock read as if it were UTC, in ms: comparing two of these compares wall times. */
const wallMs = (w: Wall): number => Date.UTC(w.year, w.month - 1, w.day) + w.minutes * 60_000;

const toMinutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * The first instant whose wall clock in `timeZone` reads `target` or later.
 * An ordinary time maps to its instant; a time skipped when the clocks spring
 * forward maps to the end of the gap (02:30 → 03:00); a time that happens
 * twice when they fall back maps to its first occurrence.
 */
export function firstInstantAt(target: Wall, timeZone: string): number {
  const want = wallMs(target);
  const offset = (t: number) => wallMs(wallAt(t, timeZone)) - Math.floor(t / 60_000) * 60_000;
  // The offsets half a day either side: equal on an ordinary day, the two of a transition otherwise.
  const candidates = [want - offset(want - 12 * 3_600_000), want - offset(want + 12 * 3_600_000)];
  const exact = candidates.filter((t) => wallMs(wallAt(t, timeZone)) === want);
  if (exact.length > 0) return Math.min(...exact);
  // In the gap: wall time runs forward there, so search between the two candidates for the first instant at or past it.
  let lo = Math.min(...candidates);
  let hi = Math.max(...candidates);
  while (hi - lo > 60_000) {
    const mid = Math.floor((lo + hi) / 2 / 60_000) * 60_000;
    if (wallMs(wallAt(mid, timeZone)) >= want) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * When the quiet window that `nowMs` falls in ends, or null when it is
 * outside every window. `start` after `end` spans midnight (22:00–08:00);
 * `end` itself is outside, so a notification released at the window's end
 * is not deferred again.
 */
export function quietUntil(nowMs: number, timeZone: string, window: QuietHours): number | null {
  const now = wallAt(nowMs, timeZone);
  const start = toMinutes(window.start);
  const end = toMinutes(window.end);
  const spansMidnight = start > end;
  const inside = spansMidnight ? now.minutes >= start || now.minutes < end : now.minutes >= start && now.minutes < end;
  if (!inside) return null;
  // The window ends today, or tomorrow when it started this evening and runs past midnight.
  const endsTomorrow = spansMidnight && now.minutes >= start;
  const day = new Date(Date.UTC(now.year, now.month - 1, now.day + (endsTomorrow ? 1 : 0)));
  const until = firstInstantAt({ year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate(), minutes: end }, timeZone);
  // Falling back can put the computed end before now (a window ending inside the repeated hour): never wait backwards.
  return until > nowMs ? until : null;
}
