// `npm test`: the whole suite in one bun test process, then the typecheck and
// Biome, then the plain closing line CI reads: `N passed, N failed`.
import { spawn } from "bun";

const filters = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;

async function stream(src: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream, onLine: (l: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of src) {
    const text = decoder.decode(chunk, { stream: true });
    sink.write(text);
    buf += text;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  }
  if (buf) onLine(buf);
}

const tests = spawn([process.execPath, "test", "--timeout", "60000", ...filters], {
  stdout: "pipe",
  stderr: "pipe",
  env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "silent" },
});
const count = (line: string) => {
  const m = /^\s*(\d+) (pass|fail|skip)$/.exec(line);
  if (!m) return;
  const n = Number(m[1]);
  if (m[2] === "pass") passed += n;
  else if (m[2] === "fail") failed += n;
  else skipped += n;
};
await Promise.all([stream(tests.stdout, process.stdout, count), stream(tests.stderr, process.stderr, count)]);
const code = await tests.exited;
if (code !== 0 && failed === 0) failed += 1; // the runner itself broke (crash, load error)

/** Runs a whole-tree check once, as one more test. */
async function check(name: string, argv: string[]): Promise<void> {
  const proc = spawn([process.execPath, "x", ...argv], { stdout: "inherit", stderr: "inherit" });
  const ok = (await proc.exited) === 0;
  console.log(`(${ok ? "pass" : "fail"}) ${name}`);
  if (ok) passed += 1;
  else failed += 1;
}

if (filters.length === 0) {
  await check("typecheck: tsc --noEmit (strict)", ["tsc", "--noEmit", "-p", "."]);
  await check("format and lint: biome check", ["biome", "check", "--error-on-warnings", "."]);
}

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed === 0 ? 0 : 1);
