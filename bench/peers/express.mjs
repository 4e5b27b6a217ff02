// Peer gateway: the same contract as Herald's POST /v1/notifications, built
// the way an Express shop would: Express 5 on Node, express.json, async
// handler (Express 5 forwards its rejection to the error middleware).
// Run: NODE_ENV=production PORT=… NATS_URL=… REDIS_URL=… HERALD_NAMESPACE=… HERALD_API_KEYS=… node bench/peers/express.mjs
import { STATUS_CODES } from "node:http";
import express from "express";
import { createCore, HttpError, problemBody, readConfig } from "./core.mjs";

const config = readConfig(process.env);
const core = await createCore(config);
const app = express();
// Both are on by default yet pointless for a POST API; a team tuning for
// throughput turns them off, so leaving them on would make a strawman.
app.disable("x-powered-by");
app.disable("etag");

app.post("/v1/notifications", express.json({ limit: "256kb" }), async (req, res) => {
  // express.json leaves req.body undefined for any other content type.
  if (req.body === undefined) throw new HttpError(415, "Unsupported Media Type", "send application/json");
  const result = await core.accept(req.get("authorization"), req.body, req.get("idempotency-key"));
  res.status(result.status);
  if (!result.replayed) return res.json(result.body);
  res.set("idempotency-replayed", "true").type("application/json").send(result.body);
});

// Four arguments mark this as Express's error middleware; it also receives body-parser's 400/413 errors.
app.use((err, _req, res, _next) => {
  const status = err instanceof HttpError ? err.status : (err.status ?? err.statusCode ?? 500);
  const title = err instanceof HttpError ? err.title : (STATUS_CODES[status] ?? "Error");
  const detail = status >= 500 && !(err instanceof HttpError) ? "unexpected error" : err.message;
  res
    .status(status)
    .set(err.headers ?? {})
    .type("application/problem+json");
  res.send(JSON.stringify(problemBody(status, title, detail, err.errors)));
});

const server = app.listen(config.port, "127.0.0.1", () => console.log(`express peer listening on ${config.port}`));

process.once("SIGTERM", () => {
  server.close();
  core.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
