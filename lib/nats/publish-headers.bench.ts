// Cost of one gateway publish's headers (Nats-Msg-Id, and traceparent when the
// request is traced), built and encoded as nats.js's `publish` needs them:
// PublishHeaders vs nats.js's `headers()`.
// Run: flock -x /tmp/herald-cpu.lock bun lib/nats/publish-headers.bench.ts
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/nats-core";
import { PublishHeaders } from "./publish-headers.ts";

const N = 1_000_000;
const MSG_ID = "0193a8f2-6c1e-7d4b-9a55-1f0c2e3d4b5a";
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
let bytes = 0;

function time(label: string, make: () => MsgHdrs, traced: boolean): void {
  const once = () => {
    const h = make();
    h.set("Nats-Msg-Id", MSG_ID);
    if (traced) h.set("traceparent", TRACEPARENT);
    bytes += (h as MsgHdrs & { encode(): Uint8Array }).encode().length;
  };
  for (let i = 0; i < 50_000; i++) once(); // warm up the JIT
  const started = performance.now();
  for (let i = 0; i < N; i++) once();
  console.log(`${label.padEnd(44)} ${(((performance.now() - started) * 1e6) / N).toFixed(0)} ns/publish`);
}

for (let round = 0; round < 2; round++) {
  time("nats.js headers(): Nats-Msg-Id", natsHeaders, false);
  time("PublishHeaders: Nats-Msg-Id", () => new PublishHeaders(), false);
  time("nats.js headers(): Nats-Msg-Id + traceparent", natsHeaders, true);
  time("PublishHeaders: Nats-Msg-Id + traceparent", () => new PublishHeaders(), true);
}
if (bytes === 0) throw new Error("nothing encoded");
