import { expect, test } from "bun:test";
import { slots } from "./slots.ts";

test("slots admit at most their capacity until opened", async () => {
  const s = slots(2);
  await s.acquire();
  await s.acquire();
  let third = false;
  const waiting = s.acquire().then(() => (third = true));
  await Bun.sleep(5);
  expect(third).toBe(false);
  s.release();
  await waiting;
  expect(s.held).toBe(2);
  s.open();
  await s.acquire();
  expect(s.held).toBe(3);
});
