import { Hono } from "hono";
import { httpTelemetry, metricsHandler } from "./middleware/telemetry.ts";
import { resolveDeps, type BaseEnv, type GatewayDeps, type TenantEnv } from "./context.ts";
import { AppError } from "./errors.ts";
import { bearerAuth } from "./middleware/auth.ts";
import { rateLimit } from "./middleware/rate-limit.ts";
import { requestId } from "./middleware/request-id.ts";
import { securityHeaders } from "./middleware/security-headers.ts";
import { handleError, renderProblem } from "./problem.ts";
import { adminRoutes } from "./routes/admin.ts";
import { callbackRoutes } from "./routes/callbacks.ts";
import { categoryRoutes } from "./routes/categories.ts";
import { docsRoutes } from "./routes/docs.ts";
import { healthRoutes } from "./routes/health.ts";
import { inboxRoutes } from "./routes/inbox.ts";
import { inboxStreamRoutes } from "./routes/inbox-stream.ts";
import { inboxTokenRoutes } from "./routes/inbox-tokens.ts";
import { notificationRoutes } from "./routes/notifications.ts";
import { templateRoutes } from "./routes/templates.ts";
import { unsubscribeRoutes } from "./routes/unsubscribe.ts";
import { userRoutes } from "./routes/users.ts";
import { webhookEndpointRoutes } from "./routes/webhook-endpoints.ts";
import { webhookSecretRoutes } from "./routes/webhook-secrets.ts";

export type { GatewayDeps, GatewayOptions, ReadinessCheck } from "./context.ts";

/**
 * The gateway as a Hono app on web-standard APIs only, so the same app runs
 * under Bun, Deno, Node or an edge runtime; each runtime has a tiny entry
 * that serves `app.fetch`. Dependencies reach handlers through the context.
 */
export function createApp(deps: GatewayDeps): Hono<BaseEnv> {
  const resolved = resolveDeps(deps);
  const app = new Hono<BaseEnv>();

  // First, so it times and counts every answer, auth failures and 404s included.
  app.use(
    httpTelemetry({
      metrics: resolved.metrics,
      ...(resolved.tracer ? { tracer: resolved.tracer } : {}),
      ...(resolved.traceSampleRatio !== undefined ? { sampleRatio: resolved.traceSampleRatio } : {}),
    }),
  );
  app.use(requestId());
  app.use(securityHeaders());
  app.use(async function provideDeps(c, next) {
    c.set("deps", resolved);
    await next();
  });

  app.route("/health", healthRoutes());
  app.route("/", docsRoutes()); // Unauthenticated: the API's description holds no tenant data.
  // Unauthenticated like the probes: it holds counters with bounded labels, no tenant or user data.
  if (resolved.metricsPage) app.get("/metrics", metricsHandler(resolved.metricsPage));

  // Before the API key: providers sign their callbacks instead, and a matched callback never reaches `bearerAuth`.
  app.route("/v1/callbacks", callbackRoutes());
  // Before the API key too: the signed link is the credential, and a mail client has no key.
  app.route("/v1/unsubscribe", unsubscribeRoutes());
  // Before the API key too: a browser authenticates with an inbox token, and an API key is refused there.
  app.route("/v1/inbox/stream", inboxStreamRoutes(resolved.inboxStream, resolved.options.corsOrigins));
  const v1 = new Hono<TenantEnv>();
  v1.use(bearerAuth(resolved.tenants));
  if (resolved.rateLimiter) v1.use(rateLimit(resolved.rateLimiter, resolved.metrics));
  v1.route("/notifications", notificationRoutes());
  v1.route("/templates", templateRoutes());
  v1.route("/inbox/tokens", inboxTokenRoutes(resolved.inboxStream));
  v1.route("/inbox", inboxRoutes());
  v1.route("/users", userRoutes());
  v1.route("/categories", categoryRoutes());
  v1.route("/webhook-secrets", webhookSecretRoutes());
  v1.route("/webhook-endpoints", webhookEndpointRoutes());
  app.route("/v1", v1);
  if (resolved.admin) app.route("/admin/v1", adminRoutes(resolved.admin, resolved.tenants));

  app.notFound((c) => renderProblem(c, new AppError("not_found", { detail: `No route for ${c.req.method} ${c.req.path}` })));
  app.onError((err, c) => handleError(err, c, resolved.logger, resolved.errorReporter));
  return app;
}
