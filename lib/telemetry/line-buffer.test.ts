import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLineBuffer, type WriteBytes } from "./line-buffer.ts";

const decoder = new TextDecoder();
const again = () => Object.assign(new Error("EAGAIN: resource temporarily unavailable, write"), { code: "EAGAIN" });

/** A destination that takes up to `capacity` bytes per write (default all), or refuses with EAGAIN while `full`. */
function destination(capacity = Number.POSITIVE_INFINITY) {
  const chunks: string[] = [];
  const state = { full: false, writes: 0 };
  const write: WriteBytes = (bytes) => {
    if (state.full) throw again();
    const n = Math.min(bytes.length, capacity);
    chunks.push(decoder.decode(bytes.subarray(0, n)));
    state.writes++;
    return n;
  };
  return { write, state, text: () => chunks.join("") };
}

const line = (i: number) => `{"i":${i},"msg":"ü line"}\n`;

describe("createLineBuffer", () => {
  test("holds lines until a chunk's worth is waiting, then writes them in one call", () => {
    const out = destination();
    const buf = createLineBuffer(out.write, { minLength: line(0).length * 3 });
    buf.write(line(0));
    buf.write(line(1));
    expect(out.state.writes).toBe(0);
    buf.write(line(2));
    expect(out.state.writes).toBe(1);
    expect(out.text()).toBe([0, 1, 2].map(line).join(""));
    buf.close();
  });

  test("writes a lone line within the flush interval", async () => {
    const out = destination();
    const buf = createLineBuffer(out.write, { flushIntervalMs: 20 });
    buf.write(line(1));
    expect(out.text()).toBe("");
    await Bun.sleep(80);
    expect(out.text()).toBe(line(1));
    buf.close();
  });

  test("a partial write keeps the rest, multi-byte characters included, and writes it first", () => {
    const out = destination(7);
    const buf = createLineBuffer(out.write, { minLength: 1 });
    buf.write(line(1));
    buf.write(line(2));
    buf.flush();
    expect(out.text()).toBe(line(1) + line(2));
    buf.close();
  });

  test("never blocks on a full destination: refused bytes wait, later lines queue behind them in order", async () => {
    const out = destination();
    const buf = createLineBuffer(out.write, { minLength: 1, retryMs: 5 });
    out.state.full = true;
    buf.write(line(1));
    buf.write(line(2));
    expect(out.text()).toBe("");
    out.state.full = false;
    await Bun.sleep(40);
    buf.write(line(3));
    buf.flush();
    expect(out.text()).toBe(line(1) + line(2) + line(3));
    expect(buf.dropped).toBe(0);
    buf.close();
  });

  test("past the cap it drops new lines, counts them, and says so once the output drains", async () => {
    const out = destination();
    const buf = createLineBuffer(out.write, { minLength: 1, maxBufferedBytes: 64, retryMs: 5 });
    out.state.full = true;
    for (let i = 0; i < 10; i++) buf.write(line(i));
    expect(buf.dropped).toBeGreaterThan(0);
    const dropped = buf.dropped;
    out.state.full = false;
    await Bun.sleep(40);
    buf.flush();
    const lines = out
      .text()
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.dropped !== undefined)).toMatchObject({ level: 40, dropped });
    expect(lines.filter((l) => l.i !== undefined)).toHaveLength(10 - dropped);
    buf.close();
  });

  test("a destination nobody reads any more (EPIPE) loses its lines, not the process", () => {
    const buf = createLineBuffer(
      () => {
        throw Object.assign(new Error("EPIPE: broken pipe"), { code: "EPIPE" });
      },
      { minLength: 1 },
    );
    expect(() => buf.write(line(1))).not.toThrow();
    buf.close();
  });

  test("what is buffered reaches stdout when the process exits, by process.exit too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "herald-lines-"));
    const out = join(dir, "out.log");
    const script = `
      import { bufferedStdout } from ${JSON.stringify(new URL("./logging.ts", import.meta.url).pathname)};
      const out = bufferedStdout();
      for (let i = 0; i < 3; i++) out.write(JSON.stringify({ i }) + "\\n");
      process.exit(0);
    `;
    try {
      const proc = Bun.spawn([process.execPath, "-e", script], { stdout: Bun.file(out), stderr: "inherit" });
      expect(await proc.exited).toBe(0);
      expect(readFileSync(out, "utf8")).toBe('{"i":0}\n{"i":1}\n{"i":2}\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
