import { describe, expect, test } from "bun:test";
import { firstInstantAt, quietUntil } from "./quiet-hours.ts";

const NIGHT = { start: "22:00", end: "08:00" };
const BERLIN = "Europe/Berlin";
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

describe("quietUntil", () => {
  test("a notification due at 23:00 Berlin time waits until 08:00 their time", () => {
    // 23:00 CET on 2026-01-15 is 22:00Z; 08:00 CET next morning is 07:00Z.
    expect(iso(quietUntil(at("2026-01-15T22:00:00Z"), BERLIN, NIGHT))).toBe("2026-01-16T07:00:00.000Z");
    // Summer: 23:00 CEST is 21:00Z; 08:00 CEST is 06:00Z.
    expect(iso(quietUntil(at("2026-07-15T21:00:00Z"), BERLIN, NIGHT))).toBe("2026-07-16T06:00:00.000Z");
  });

  test("after midnight, the window ends the same morning; outside it, nothing waits; its end is outside", () => {
    expect(iso(quietUntil(at("2026-01-16T02:30:00Z"), BERLIN, NIGHT))).toBe("2026-01-16T07:00:00.000Z");
    expect(quietUntil(at("2026-01-16T12:00:00Z"), BERLIN, NIGHT)).toBeNull();
    expect(quietUntil(at("2026-01-16T07:00:00Z"), BERLIN, NIGHT)).toBeNull();
    expect(iso(quietUntil(at("2026-01-16T06:59:00Z"), BERLIN, NIGHT))).toBe("2026-01-16T07:00:00.000Z");
  });

  test("the spring-forward night (2026-03-29, 02:00 → 03:00 in Berlin): 23:00 waits 8 hours, not 9", () => {
    const until = quietUntil(at("2026-03-28T22:00:00Z"), BERLIN, NIGHT);
    // 08:00 CEST = 06:00Z.
    expect(iso(until)).toBe("2026-03-29T06:00:00.000Z");
    expect(((until ?? 0) - at("2026-03-28T22:00:00Z")) / 3_600_000).toBe(8);
  });

  test("the fall-back night (2026-10-25, 03:00 → 02:00 in Berlin): 23:00 waits 10 hours", () => {
    // 23:00 CEST on the 24th is 21:00Z; 08:00 CET on the 25th is 07:00Z.
    const until = quietUntil(at("2026-10-24T21:00:00Z"), BERLIN, NIGHT);
    expect(iso(until)).toBe("2026-10-25T07:00:00.000Z");
    expect(((until ?? 0) - at("2026-10-24T21:00:00Z")) / 3_600_000).toBe(10);
  });

  test("a window ending in the skipped hour ends when the clocks jump; one ending in the repeated hour ends at its first occurrence", () => {
    // 01:00–02:30: 02:30 does not exist on 2026-03-29; the window ends at 03:00 CEST (01:00Z).
    expect(iso(quietUntil(at("2026-03-29T00:30:00Z"), BERLIN, { start: "01:00", end: "02:30" }))).toBe("2026-03-29T01:00:00.000Z");
    // 01:00–02:30 on 2026-10-25: 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET); it ends at the first.
    expect(iso(quietUntil(at("2026-10-24T23:30:00Z"), BERLIN, { start: "01:00", end: "02:30" }))).toBe("2026-10-25T00:30:00.000Z");
  });

  test("a window within the day and other zones", () => {
    expect(iso(quietUntil(at("2026-01-15T13:00:00Z"), "America/New_York", { start: "08:00", end: "09:30" }))).toBe("2026-01-15T14:30:00.000Z");
    expect(quietUntil(at("2026-01-15T15:00:00Z"), "America/New_York", { start: "08:00", end: "09:30" })).toBeNull();
    expect(iso(quietUntil(at("2026-01-15T17:00:00Z"), "Asia/Kolkata", NIGHT))).toBe("2026-01-16T02:30:00.000Z");
  });
});

describe("firstInstantAt", () => {
  test("maps an ordinary wall time to its instant", () => {
    expect(iso(firstInstantAt({ year: 2026, month: 6, day: 1, minutes: 9 * 60 }, BERLIN))).toBe("2026-06-01T07:00:00.000Z");
  });
});
