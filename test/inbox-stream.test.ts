// The realtime inbox as a browser sees it: an EventSource on one gateway gets what another gateway accepted, and survives that gateway's crash.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { and, eq, inArray } from "drizzle-orm";
import { chromium, type Browser, type Page } from "playwright-core";
import { freePort } from "../lib/probe.ts";
import { notifications } from "../schemas/tables.ts";
import { eventually } from "./support/eventually.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { createStack, post, type Stack } from "./support/stack.ts";

const CHROMIUM = "/usr/bin/chromium";
const SECRET = "inbox-stream-browser-test-secret-0123456789";
const USER = "browser-user";

// A page on its own origin: the stream is cross-origin, as it is for a tenant's app, so its CORS answer is part of the test.
const PAGE = `<!doctype html><meta charset="utf-8"><title>inbox</title><script>
  window.received = []; window.opens = 0;
  const es = new EventSource(new URL(location.href).searchParams.get("src"));
  es.onopen = () => { window.opens++; };
  es.addEventListener("notification", (e) => window.received.push({ id: e.lastEventId, item: JSON.parse(e.data) }));
</script>`;

if (!existsSync(CHROMIUM)) {
  console.warn(`[inbox-stream] skipped: ${CHROMIUM} is absent (Debian's chromium package; .ci/run installs it)`);
  test.skip(`the realtime inbox in Chromium: needs ${CHROMIUM}`, () => {});
} else {
  describe("the realtime inbox in Chromium, across two gateways", () => {
    let stack: Stack;
    let processor: HeraldProcess;
    let gatewayA: HeraldProcess;
    let gatewayB: HeraldProcess | undefined;
    let pageServer: ReturnType<typeof Bun.serve>;
    let browser: Browser;
    let page: Page;
    const portB = freePort();

    beforeAll(async () => {
      stack = await createStack({ HERALD_TOKEN_SECRET: SECRET });
      processor = await startHerald("processor", stack.env);
      gatewayA = await startHerald("gateway", stack.env);
      gatewayB = await startHerald("gateway", { ...stack.env, HERALD_PORT: String(portB) });
      pageServer = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response(PAGE, { headers: { "content-type": "text/html" } }) });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--no-first-run"],
      });
      page = await browser.newPage();
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await pageServer?.stop(true);
      await gatewayB?.signal("SIGKILL");
      await gatewayA?.signal("SIGTERM");
      await processor?.signal("SIGTERM");
      await stack?.cleanup();
    });

    const received = () => page.evaluate(() => (window as unknown as { received: Array<{ id: string; item: { id: string; title: string } }> }).received);
    const opens = () => page.evaluate(() => (window as unknown as { opens: number }).opens);
    const sendVia = async (gateway: HeraldProcess, title: string) => {
      const res = await post(gateway.url, "/v1/notifications", { userId: USER, channel: "in_app", payload: { title, body: `${title}!` } });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: string }).id;
    };

    test("gets a notification sent through gateway A on gateway B, and after B crashes and comes back, exactly the two it missed", async () => {
      const minted = await post(gatewayA.url, "/v1/inbox/tokens", { userId: USER });
      expect(minted.status).toBe(200);
      const { token } = (await minted.json()) as { token: string };
      const src = `http://127.0.0.1:${portB}/v1/inbox/stream?token=${encodeURIComponent(token)}`;
      await page.goto(`http://127.0.0.1:${pageServer.port}/?src=${encodeURIComponent(src)}`);
      await eventually(async () => (await opens()) === 1, { timeoutMs: 10_000 });

      const first = await sendVia(gatewayA, "one");
      await eventually(async () => (await received()).length === 1, { timeoutMs: 10_000 });
      expect((await received())[0]).toEqual({ id: first, item: expect.objectContaining({ id: first, title: "one", body: "one!" }) });

      await gatewayB?.signal("SIGKILL");
      gatewayB = undefined;
      const missed = [await sendVia(gatewayA, "two"), await sendVia(gatewayA, "three")];
      await eventually(
        async () => {
          const sent = await stack.db.db
            .select({ id: notifications.id })
            .from(notifications)
            .where(and(inArray(notifications.id, missed), eq(notifications.status, "sent")));
          return sent.length === 2;
        },
        { timeoutMs: 10_000 },
      );
      expect((await received()).length).toBe(1);

      gatewayB = await startHerald("gateway", { ...stack.env, HERALD_PORT: String(portB) });
      await eventually(async () => (await received()).length >= 3, { timeoutMs: 20_000, everyMs: 100 });
      // Time for a repeat to show up, were there one.
      await Bun.sleep(1000);
      // Exactly the two it missed, once each; between them, in the order they were sent (sent_at), which two batches may swap.
      const ids = (await received()).map((r) => r.id);
      expect(ids).toHaveLength(3);
      expect(ids[0]).toBe(first);
      expect(ids.slice(1).sort()).toEqual([...missed].sort());
      expect(await opens()).toBeGreaterThanOrEqual(2);

      // A graceful stop ends the open stream rather than waiting for the browser to leave.
      const started = Date.now();
      expect(await gatewayB?.signal("SIGTERM")).toBe(0);
      gatewayB = undefined;
      expect(Date.now() - started).toBeLessThan(5000);
    }, 60_000);
  });
}
