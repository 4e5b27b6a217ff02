import { describe, expect, test } from "bun:test";
import { DEFAULT_RETRY_SCHEDULE_S } from "../../schemas/status-webhooks.ts";
import { nextDelayS } from "./schedule.ts";

describe("nextDelayS", () => {
  test("follows Svix's schedule: 5 s after the first failure, 5 min after the second, 10 h before the last", () => {
    expect(nextDelayS(DEFAULT_RETRY_SCHEDULE_S, 1)).toBe(5);
    expect(nextDelayS(DEFAULT_RETRY_SCHEDULE_S, 2)).toBe(300);
    expect(nextDelayS(DEFAULT_RETRY_SCHEDULE_S, 7)).toBe(36_000);
  });

  test("is null once every attempt of the schedule failed, so the delivery is dead", () => {
    expect(nextDelayS(DEFAULT_RETRY_SCHEDULE_S, 8)).toBeNull();
    expect(nextDelayS([0, 1, 2], 3)).toBeNull();
  });

  test("a shrunk schedule of three entries allows three attempts", () => {
    expect([1, 2, 3].map((n) => nextDelayS([0, 1, 2], n))).toEqual([1, 2, null]);
  });
});
