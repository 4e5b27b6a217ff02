// /docs as a person sees it, in a real browser, with nothing asked of any other host.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { serveGateway } from "../gateway/runtime/bun/serve.ts";
import { createAppFixture, type AppFixture } from "./support/gateway-fixture.ts";

const CHROMIUM = "/usr/bin/chromium";
const CREATE_SUMMARY = "Accept one notification";

if (!existsSync(CHROMIUM)) {
  console.warn(`[docs-ui] skipped: ${CHROMIUM} is absent (Debian's chromium package; .ci/run installs it)`);
  test.skip(`the /docs page in Chromium: needs ${CHROMIUM}`, () => {});
} else {
  describe("the /docs page in Chromium", () => {
    let f: AppFixture;
    let server: ReturnType<typeof serveGateway>;
    let browser: Browser;
    let page: Page;
    let origin = "";
    const requested: string[] = [];
    const pageErrors: string[] = [];

    beforeAll(async () => {
      f = await createAppFixture();
      server = serveGateway(f.app, { port: 0, hostname: "127.0.0.1" });
      origin = `http://127.0.0.1:${server.port}`;
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--no-first-run"],
      });
      page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      page.on("request", (r) => requested.push(r.url()));
      page.on("pageerror", (err) => pageErrors.push(err.message));
      // Injected by the driver, so the page's own CSP does not stop it from reporting that CSP's violations.
      await page.addInitScript(() => {
        const seen: string[] = [];
        Object.assign(window, { cspViolations: seen });
        document.addEventListener("securitypolicyviolation", (e) => seen.push(`${e.effectiveDirective} ${e.blockedURI}`));
      });
      await page.goto(`${origin}/docs`);
      await page.locator("h2", { hasText: CREATE_SUMMARY }).waitFor({ timeout: 15_000 });
    }, 25_000);

    afterAll(async () => {
      await browser?.close();
      await server?.stop(true);
      await f?.cleanup();
    });

    test("renders every operation, POST /v1/notifications among them", async () => {
      const create = page.locator("h2", { hasText: CREATE_SUMMARY });
      await expect(create.isVisible()).resolves.toBe(true);
      expect(await page.locator("[data-section-id^='operation/']").count()).toBeGreaterThanOrEqual(10);
      expect(await page.getByText("/v1/notifications/{id}/cancel").count()).toBeGreaterThanOrEqual(1);
    });

    test("shows field tables and curl and TypeScript request samples", async () => {
      const section = page.locator("[data-section-id='operation/createNotification']");
      await expect(section.getByText("Idempotency-Key", { exact: true }).first().isVisible()).resolves.toBe(true);
      await section.getByRole("tab", { name: "TypeScript" }).click();
      await expect(section.getByText("crypto.randomUUID()").first().isVisible()).resolves.toBe(true);
      await section.getByRole("tab", { name: "curl" }).click();
      await expect(section.getByText("$HERALD_API_KEY").first().isVisible()).resolves.toBe(true);
    });

    test("search finds an operation by its summary", async () => {
      await page.getByPlaceholder("Search...").fill("cancel");
      const results = page.locator("[data-role='search:results'] [role=menuitem]");
      await results.first().waitFor({ timeout: 5_000 });
      expect(await results.allInnerTexts()).toContainEqual(expect.stringContaining("Cancel a notification"));
      await page.getByPlaceholder("Search...").fill("");
    });

    test("no request left this origin, and nothing broke the page's CSP", async () => {
      expect(requested.length).toBeGreaterThanOrEqual(3);
      // The search index runs in a worker started from a blob: URL of this same origin.
      const origins = new Set(requested.map((url) => new URL(url.replace(/^blob:/, "")).origin));
      expect([...origins]).toEqual([origin]);
      expect(requested).toContainEqual(expect.stringMatching(/\/docs\/assets\/redoc\.standalone\.[0-9a-f]{8}\.js$/));
      expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
      expect(pageErrors).toEqual([]);
    });

    test("a screenshot is a real picture of the page", async () => {
      const dir = mkdtempSync(join(tmpdir(), "herald-docs-ui-"));
      try {
        const path = join(dir, "docs.png");
        await page.screenshot({ path });
        const png = readFileSync(path);
        expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1400, 900]);
        // A blank or unstyled page compresses to a few KiB; a rendered reference is far richer.
        expect(png.length).toBeGreaterThan(40_000);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
