import { expect, test } from "bun:test";
import { keyedQueue } from "./keyed-queue.ts";

test("the keyed queue runs one key's tasks in order, one at a time, and other keys beside them", async () => {
  const q = keyedQueue();
  const log: string[] = [];
  let running = 0;
  let most = 0;
  const task = (key: string, i: number, ms: number) => async () => {
    running += 1;
    most = Math.max(most, running);
    log.push(`${key}${i}<`);
    await Bun.sleep(ms);
    log.push(`${key}${i}>`);
    running -= 1;
  };
  for (let i = 0; i < 3; i++) {
    void q.push("a", task("a", i, 15 - i * 5));
    void q.push("b", task("b", i, 5));
  }
  await q.idle();
  const of = (k: string) => log.filter((l) => l.startsWith(k)).join(" ");
  expect(of("a")).toBe("a0< a0> a1< a1> a2< a2>");
  expect(of("b")).toBe("b0< b0> b1< b1> b2< b2>");
  expect(most).toBe(2);
  expect(q.keys).toBe(0);
});
