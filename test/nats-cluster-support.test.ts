import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { CLUSTER_NODE_CONF, startNatsCluster, type NatsCluster } from "./support/nats-cluster.ts";

const DEPLOY = new URL("../deploy/nats/", import.meta.url).pathname;
let cluster: NatsCluster;
const scratch = mkdtempSync(join(tmpdir(), "herald-nats-conf-"));

beforeAll(async () => {
  cluster = await startNatsCluster();
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** `nats-server -t`: parses the file, resolves its variables and loads its certificates, without binding anything. */
function configTest(file: string, env: Record<string, string> = {}): { ok: boolean; output: string } {
  const run = spawnSync("nats-server", ["-c", file, "-t"], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

test("the three nodes route into one cluster, elect a meta leader and replicate an R3 stream", async () => {
  expect(cluster.nodes.map((n) => n.name)).toEqual(["herald-0", "herald-1", "herald-2"]);
  expect(cluster.servers.split(",")).toHaveLength(3);
  const nc = await cluster.connect();
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "PROBE", subjects: ["probe.>"], num_replicas: 3, storage: StorageType.File });
  const info = await jsm.streams.info("PROBE");
  expect(info.cluster?.replicas).toHaveLength(2);
  expect(cluster.nodes[await cluster.leaderOf("PROBE")]?.name).toBe(info.cluster?.leader ?? "");
  await nc.close();
});

test("a killed stream leader is replaced by another node, and restarts on the same ports and store", async () => {
  const leader = await cluster.leaderOf("PROBE");
  await cluster.kill(leader);
  const deadline = Date.now() + 20_000;
  let next = leader;
  while (next === leader && Date.now() < deadline) {
    next = await cluster.leaderOf("PROBE").catch(() => leader);
    if (next === leader) await Bun.sleep(200);
  }
  expect(next).not.toBe(leader);
  await cluster.restart(leader);
  await cluster.waitForMetaLeader();
  const nc = await cluster.connect();
  const jsm = await jetstreamManager(nc);
  // The restarted node catches up: all three replicas current again.
  const deadline2 = Date.now() + 20_000;
  let current = 0;
  while (Date.now() < deadline2) {
    const info = await jsm.streams.info("PROBE");
    current = (info.cluster?.replicas ?? []).filter((r) => r.current).length;
    if (current === 2) break;
    await Bun.sleep(200);
  }
  expect(current).toBe(2);
  await nc.close();
}, 60_000);

test("the committed configs load on this nats-server", () => {
  expect(configTest(join(DEPLOY, "single.conf")).output).toContain("is valid");
  const node = {
    NATS_SERVER_NAME: "n0",
    NATS_LISTEN: "127.0.0.1:4222",
    NATS_HTTP: "127.0.0.1:8222",
    NATS_CLUSTER_LISTEN: "127.0.0.1:6222",
    NATS_STORE_DIR: join(scratch, "js"),
    NATS_ROUTE_1: "nats-route://127.0.0.1:6222",
    NATS_ROUTE_2: "nats-route://127.0.0.1:6223",
    NATS_ROUTE_3: "nats-route://127.0.0.1:6224",
  };
  expect(configTest(CLUSTER_NODE_CONF, node)).toMatchObject({ ok: true });
});

test("production.conf loads on 2.9 but for sync_interval, which only a newer server knows", () => {
  const certs = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=nats",
      "-keyout",
      join(scratch, "server.key"),
      "-out",
      join(scratch, "server.crt"),
    ],
    { encoding: "utf8" },
  );
  expect(certs.status).toBe(0);
  writeFileSync(join(scratch, "ca.crt"), readFileSync(join(scratch, "server.crt")));
  const secrets = { NATS_SERVER_NAME: "nats-0", HERALD_NATS_PASSWORD: "p", NATS_SYS_PASSWORD: "s" };
  const production = readFileSync(join(DEPLOY, "production.conf"), "utf8").replaceAll("/etc/nats/tls", scratch);
  expect(production).toContain("sync_interval: always");
  const file = join(scratch, "production.conf");
  writeFileSync(file, production);
  const as29 = configTest(file, secrets);
  expect(as29.ok).toBe(false);
  expect(as29.output).toContain('unknown field "sync_interval"');
  writeFileSync(file, production.replace(/^\s*sync_interval: always\n/m, ""));
  expect(configTest(file, secrets)).toMatchObject({ ok: true });
  expect(configTest(file, { NATS_SERVER_NAME: "nats-0" }).output).toContain("HERALD_NATS_PASSWORD");
});
