import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { codeLoads, dumpPid } from "./jitdump-map.ts";

/** A jitdump record: id, total size, timestamp, then the body. */
function record(id: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, id, true);
  view.setUint32(4, out.length, true);
  view.setBigUint64(8, 1n, true);
  out.set(body, 16);
  return out;
}

function codeLoad(addr: bigint, size: bigint, name: string): Uint8Array {
  const nameBytes = new TextEncoder().encode(`${name}\0`);
  const code = new Uint8Array(8);
  const body = new Uint8Array(40 + nameBytes.length + code.length);
  const view = new DataView(body.buffer);
  view.setUint32(0, 42, true); // pid
  view.setUint32(4, 43, true); // tid
  view.setBigUint64(8, addr, true); // vma
  view.setBigUint64(16, addr, true); // code_addr
  view.setBigUint64(24, size, true);
  view.setBigUint64(32, 7n, true); // code_index
  body.set(nameBytes, 40);
  return record(0, body);
}

function dump(...records: Uint8Array[]): Uint8Array {
  const header = new Uint8Array(40);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0x4a695444, true); // "JiTD"
  view.setUint32(4, 1, true);
  view.setUint32(8, header.length, true);
  const out = new Uint8Array(header.length + records.reduce((n, r) => n + r.length, 0));
  out.set(header, 0);
  let at = header.length;
  for (const r of records) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

describe("codeLoads", () => {
  test("reads each code load's address, size and name, skips other records, and keeps the last load at an address", () => {
    const loads = codeLoads(
      dump(
        codeLoad(0x7f00_0000_1000n, 0x180n, "JSC-DFG: startSpan#D5QH8b"),
        record(2, new Uint8Array(24)), // a code move: not a load
        codeLoad(0x7f00_0000_2000n, 0x40n, "JSC-Thunk: DefaultCall"),
        codeLoad(0x7f00_0000_1000n, 0x200n, "JSC-FTL: startSpan#D5QH8b"),
      ),
    );
    expect([...loads.entries()]).toEqual([
      [0x7f00_0000_1000n, { size: 0x200n, name: "JSC-FTL: startSpan#D5QH8b" }],
      [0x7f00_0000_2000n, { size: 0x40n, name: "JSC-Thunk: DefaultCall" }],
    ]);
  });

  test("stops at a record that says it is empty instead of looping on it", () => {
    const loads = codeLoads(dump(codeLoad(0x1000n, 0x10n, "a"), new Uint8Array(16), codeLoad(0x2000n, 0x10n, "b")));
    expect([...loads.keys()]).toEqual([0x1000n]);
  });

  test("names the functions Bun's JavaScriptCore compiled, from a real jitdump", async () => {
    const dir = mkdtempSync(join(tmpdir(), "herald-jitdump-"));
    try {
      // Hot for 300 ms, so it reaches the compiling tiers; then idle, so JSC's perf-log thread writes the dump before exit.
      const script =
        "function hotLoopForJitdump(n){let s=0;for(let i=0;i<n;i++)s+=i%7;return s}let t=0;const end=Date.now()+300;while(Date.now()<end)t+=hotLoopForJitdump(1000);setTimeout(()=>console.log(t>0),200)";
      const proc = Bun.spawn([process.execPath, "-e", script], {
        env: { ...process.env, BUN_JSC_useJITDump: "1", BUN_JSC_jitDumpDirectory: dir },
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(await proc.exited).toBe(0);
      const file = readdirSync(dir).find((f) => dumpPid(f) !== undefined);
      expect(file).toBeDefined();
      expect(dumpPid(file as string)).toBe(proc.pid);
      const names = [...codeLoads(readFileSync(join(dir, file as string))).values()].map((l) => l.name);
      expect(names.some((n) => /^JSC-(Baseline|DFG|FTL): hotLoopForJitdump#/.test(n))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
