// Runs one autocannon phase in its own Node process (spawned by
// autocannon.ts) through autocannon's programmatic API rather than its CLI:
// the CLI parses arguments with subarg, which treats `[` as the start of a
// sub-argument, so a JSON body with an array (the batch route) or an
// `[<id>]` placeholder in a header cannot be passed through it.
// Options arrive as JSON on stdin: a 1,000-item batch body would not fit in
// one argv string (Linux caps each at 128 KiB).
// Prints autocannon's result object as JSON on stdout, like `--json` does,
// plus the process's own CPU (getrusage, all threads) on stderr.
"use strict";
const autocannon = require("autocannon");

const opts = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
autocannon(opts).then(
  (result) => {
    const { userCPUTime, systemCPUTime } = process.resourceUsage();
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.stderr.write(`LOADGEN_CPU_US ${userCPUTime + systemCPUTime}\n`);
  },
  (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
