import { describe, expect, test } from "bun:test";
import type { InboxFeedItem } from "../schemas/inbox-feed.ts";
import { createLiveMerge } from "./inbox-live.ts";

const item = (id: string): InboxFeedItem => ({ id, title: id, body: "b", data: null, createdAt: "2026-11-26T06:00:00.000Z" });

function merge() {
  const written: string[] = [];
  const m = createLiveMerge(
    async (i) => {
      written.push(i.id);
    },
    { maxBacklog: 100, overflow: () => {} },
  );
  return { m, written };
}

describe("the replay/live merge", () => {
  test("holds live items during the replay, writes them after it, and drops those the replay already wrote", async () => {
    const { m, written } = merge();
    m.live(item("c"));
    expect(await m.replayed(item("b"))).toBe(true);
    m.live(item("d"));
    expect(await m.replayed(item("c"))).toBe(true);
    expect(written).toEqual(["b", "c"]);
    await m.endReplay();
    expect(written).toEqual(["b", "c", "d"]);
  });

  test("after the replay, live items pass at once and a repeat is dropped", async () => {
    const { m, written } = merge();
    await m.endReplay();
    m.live(item("a"));
    m.live(item("a"));
    m.live(item("b"));
    await Bun.sleep(0);
    expect(written).toEqual(["a", "b"]);
  });

  test("calls overflow when more writes wait on the reader than the backlog allows", async () => {
    let overflows = 0;
    const stuck = createLiveMerge(() => new Promise(() => {}), { maxBacklog: 2, overflow: () => overflows++ });
    await stuck.endReplay();
    stuck.live(item("1"));
    stuck.live(item("2"));
    expect(overflows).toBe(0);
    stuck.live(item("3"));
    expect(overflows).toBe(1);
  });
});
