import { expect, test } from "bun:test";
import { createStack } from "./support/stack.ts";

const CLI = new URL("../bin/herald.ts", import.meta.url).pathname;

test("refuses to start on bad configuration, naming the bad keys", async () => {
  const proc = Bun.spawn([process.execPath, CLI, "gateway"], {
    env: { PATH: process.env.PATH ?? "", HERALD_PORT: "not-a-port", HERALD_NAMESPACE: "Bad.Name" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderr = await new Response(proc.stderr).text();
  expect(await proc.exited).toBe(78);
  expect(stderr).toContain("HERALD_PORT");
  expect(stderr).toContain("HERALD_NAMESPACE");
});

test("prints usage for an unknown command", async () => {
  const proc = Bun.spawn([process.execPath, CLI, "serve"], { stdout: "pipe", stderr: "pipe" });
  expect(await proc.exited).toBe(2);
  expect(await new Response(proc.stderr).text()).toContain("herald <gateway | processor | all | migrate | replay>");
});

test("refuses to start on provider keys that do not go together or a missing FCM key file, naming them", async () => {
  const proc = Bun.spawn([process.execPath, CLI, "processor"], {
    env: {
      PATH: process.env.PATH ?? "",
      TWILIO_ACCOUNT_SID: `AC${"0".repeat(32)}`,
      HERALD_SMTP_URL: "smtp://127.0.0.1:2525",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderr = await new Response(proc.stderr).text();
  expect(await proc.exited).toBe(78);
  for (const key of ["HERALD_EMAIL_FROM", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"]) expect(stderr).toContain(key);

  const missing = Bun.spawn([process.execPath, CLI, "processor"], {
    env: { PATH: process.env.PATH ?? "", HERALD_WEBHOOK_SECRET: `whsec_${btoa("0123456789abcdef0123")}`, HERALD_FCM_SERVICE_ACCOUNT: "/nonexistent/key.json" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const said = await new Response(missing.stderr).text();
  expect(await missing.exited).toBe(78);
  expect(said).toContain("HERALD_FCM_SERVICE_ACCOUNT: no key file at /nonexistent/key.json");
});

test("replay refuses unknown or bad flags before connecting to anything, naming them", async () => {
  for (const [flags, said] of [
    [["--chanel", "email"], "--chanel"],
    [["--channel", "fax"], "--channel"],
    [["--limit", "-1"], "--limit"],
  ] as const) {
    const proc = Bun.spawn([process.execPath, CLI, "replay", ...flags], { env: { PATH: process.env.PATH ?? "", NATS_URL: "nats://127.0.0.1:1" }, stdout: "pipe", stderr: "pipe" });
    const stderr = await new Response(proc.stderr).text();
    expect(await proc.exited).toBe(78);
    expect(stderr).toContain(said);
  }
});

test("replay runs against the services and prints its report as one JSON line", async () => {
  const stack = await createStack();
  try {
    const proc = Bun.spawn([process.execPath, CLI, "replay", "--dry-run", "--channel", "webhook"], { env: { PATH: process.env.PATH ?? "", ...stack.env, LOG_LEVEL: "warn" }, stdout: "pipe", stderr: "pipe" });
    const stdout = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    expect(JSON.parse(stdout.trim().split("\n").at(-1) ?? "")).toEqual({ replayed: [], stale: 0, invalid: 0, kept: 0 });
  } finally {
    await stack.cleanup();
  }
});
