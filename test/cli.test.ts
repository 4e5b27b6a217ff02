import { expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { auditLog, notifications } from "../schemas/tables.ts";
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
  expect(await new Response(proc.stderr).text()).toContain('herald: unknown command "serve"\n\nusage: herald <command> [options]');
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
    [["--since", "2026-11-26"], "--since: must be an ISO 8601 time with its offset"],
    [["--since", "2026-02-30T00:00:00Z"], "--since"],
  ] as const) {
    const proc = Bun.spawn([process.execPath, CLI, "replay", ...flags], {
      env: { PATH: process.env.PATH ?? "", NATS_URL: "nats://127.0.0.1:1" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const stderr = await new Response(proc.stderr).text();
    expect(await proc.exited).toBe(78);
    expect(stderr).toContain(said);
  }
});

test("replay reads the failed rows, with no dead letter in the stream, and prints its report as one JSON line", async () => {
  const stack = await createStack();
  try {
    const id = crypto.randomUUID();
    const poison = crypto.randomUUID();
    const row = { tenantId: "acme", userId: "u", channel: "webhook", type: "transactional", priority: "normal", status: "failed", attempts: 8 } as const;
    await stack.db.db.insert(notifications).values([
      { ...row, id, payload: { url: "https://hooks.example.com/in", body: { a: 1 } }, updatedAt: new Date("2026-11-26T06:00:00Z") },
      { ...row, id: poison, payload: {}, attempts: 0 },
    ]);
    const replay = async (...flags: string[]) => {
      const proc = Bun.spawn([process.execPath, CLI, "replay", ...flags], {
        env: { PATH: process.env.PATH ?? "", ...stack.env, LOG_LEVEL: "warn" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const stdout = await new Response(proc.stdout).text();
      expect(await proc.exited).toBe(0);
      return JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as unknown;
    };
    expect(await replay("--dry-run", "--channel", "webhook")).toEqual({ dryRun: true, wouldReplay: [id], unreplayable: [poison] });
    expect(await replay("--dry-run", "--since", "2026-11-26T07:00:00+01:00")).toEqual({ dryRun: true, wouldReplay: [], unreplayable: [poison] });
    expect(await replay("--channel", "webhook")).toEqual({ dryRun: false, replayed: [id], unreplayable: [poison], skipped: 0 });
    const [after] = await stack.db.db.select({ status: notifications.status }).from(notifications).where(eq(notifications.id, id));
    expect(after?.status).toBe("retrying");
    expect(await replay()).toEqual({ dryRun: false, replayed: [], unreplayable: [poison], skipped: 0 });
    // Each replay that is not a dry run is one audit entry by `cli`, with its counts and filters; the dry runs none.
    const entries = await stack.db.db.select().from(auditLog).orderBy(auditLog.id);
    expect(entries.map(({ actor, tenantId, action, target, clientAddress, details }) => ({ actor, tenantId, action, target, clientAddress, details }))).toEqual(
      [
        {
          actor: "cli",
          tenantId: null,
          action: "dead_letters.replayed",
          target: null,
          clientAddress: null,
          details: { replayed: 1, unreplayable: 1, skipped: 0, filters: { channel: "webhook" } },
        },
        {
          actor: "cli",
          tenantId: null,
          action: "dead_letters.replayed",
          target: null,
          clientAddress: null,
          details: { replayed: 0, unreplayable: 1, skipped: 0, filters: {} },
        },
      ],
    );
  } finally {
    await stack.cleanup();
  }
});
