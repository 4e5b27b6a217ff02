// Names for JavaScriptCore's JIT code in a `perf record` of a Herald process:
// turns the jitdump file JSC writes (BUN_JSC_useJITDump=1,
// BUN_JSC_jitDumpDirectory=DIR) into the /tmp/perf-<pid>.map that `perf report`
// reads. `perf inject --jit` does not pick the dump up: JSC names it
// jit-<tid>-<pid>.dump, not jit-<pid>.dump. Bun's own CPU profiler put time in
// the wrong functions in our runs; perf with this map names each tier's code
// (`JSC-FTL: httpTelemetryMiddleware#…`, `JSC-DFG: startSpan#…`).
//
// A code address can be reused after its code is thrown away; the map keeps
// the last code loaded at each address, so a sample in reused memory may carry
// a later function's name. Compare runs by process, not single rows.
//
// Usage:
//   gateway/processor started with --env BUN_JSC_useJITDump=1 --env BUN_JSC_jitDumpDirectory=/tmp/jd
//   perf record -e cpu-clock -g -p <pid> -o /tmp/jd/perf.data -- sleep 8
//   bun bench/profile/jitdump-map.ts /tmp/jd/jit-<tid>-<pid>.dump   (writes /tmp/perf-<pid>.map)
//   perf report -i /tmp/jd/perf.data --sort dso,sym
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

const JIT_CODE_LOAD = 0;

/** The process id in the name JSC gives its dump (`jit-<tid>-<pid>.dump`); undefined for any other name. */
export function dumpPid(path: string): number | undefined {
  const pid = /^jit-\d+-(\d+)\.dump$/.exec(basename(path))?.[1];
  return pid === undefined ? undefined : Number(pid);
}

/** Code loads of a jitdump file (the perf jitdump format: a header, then records), the last one per address. */
export function codeLoads(dump: Uint8Array): Map<bigint, { size: bigint; name: string }> {
  const view = new DataView(dump.buffer, dump.byteOffset, dump.byteLength);
  const headerSize = view.getUint32(8, true);
  const loads = new Map<bigint, { size: bigint; name: string }>();
  const text = new TextDecoder();
  for (let at = headerSize; at + 16 <= dump.length; ) {
    const id = view.getUint32(at, true);
    const total = view.getUint32(at + 4, true);
    if (total === 0) break;
    if (id === JIT_CODE_LOAD) {
      // id, total_size, timestamp (16 bytes), then pid, tid, vma, code_addr, code_size, code_index, name\0, code.
      const codeAddr = view.getBigUint64(at + 32, true);
      const size = view.getBigUint64(at + 40, true);
      const nameStart = at + 56;
      const nameEnd = dump.indexOf(0, nameStart);
      loads.set(codeAddr, { size, name: text.decode(dump.subarray(nameStart, nameEnd)).replaceAll("\n", " ") });
    }
    at += total;
  }
  return loads;
}

if (import.meta.main) {
  const path = process.argv[2];
  const pid = path ? dumpPid(path) : undefined;
  if (!path || pid === undefined) {
    console.error("usage: bun bench/profile/jitdump-map.ts DIR/jit-<tid>-<pid>.dump");
    process.exit(2);
  }
  const loads = codeLoads(readFileSync(path));
  const lines = [...loads]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([addr, { size, name }]) => `${addr.toString(16)} ${size.toString(16)} ${name}`);
  writeFileSync(`/tmp/perf-${pid}.map`, `${lines.join("\n")}\n`);
  console.log(`/tmp/perf-${pid}.map: ${lines.length} code ranges`);
}
