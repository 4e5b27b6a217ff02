import { expect, test } from "bun:test";
import { settler } from "./settler.ts";

test("operations queued in different microtasks run together on the next turn, in order", async () => {
  const out = settler();
  const ran: number[] = [];
  await Promise.all(
    [1, 2, 3].map(async (i) => {
      await Promise.resolve();
      out.later(() => ran.push(i));
    }),
  );
  expect(ran).toEqual([]);
  await new Promise((resolve) => setTimeout(resolve, 5));
  expect(ran).toEqual([1, 2, 3]);
});

test("flush runs what is gathered at once, and only once", async () => {
  const out = settler();
  const ran: string[] = [];
  out.later(() => ran.push("ack"));
  out.flush();
  expect(ran).toEqual(["ack"]);
  await new Promise((resolve) => setTimeout(resolve, 5));
  expect(ran).toEqual(["ack"]);
});
