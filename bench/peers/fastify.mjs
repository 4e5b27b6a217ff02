// Peer gateway: the same contract as Herald's POST /v1/notifications, built
// the way a Fastify shop would: Fastify 5 on Node, its own JSON body parser
// with bodyLimit, a response schema so the 202 goes through fast-json-stringify,
// one setErrorHandler rendering problem+json.
// Run: NODE_ENV=production PORT=… NATS_URL=… REDIS_URL=… HERALD_NAMESPACE=… HERALD_API_KEYS=… node bench/peers/fastify.mjs
import { STATUS_CODES } from "node:http";
import Fastify from "fastify";
import { createCore, HttpError, problemBody, readConfig } from "./core.mjs";

const config = readConfig(process.env);
const core = await createCore(config);
// logger off: Fastify logs every request when it is on, which no benchmark of the contract should pay for.
const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
// Fastify also parses text/plain by default; the contract takes JSON only, so anything else is its own 415.
app.removeContentTypeParser("text/plain");

const accepted = {
  type: "object",
  properties: { id: { type: "string" }, status: { type: "string" }, acceptedAt: { type: "string" } },
  required: ["id", "status", "acceptedAt"],
};

// Validation stays in the handler with zod rather than Fastify's JSON-schema
// validator: the point of the peer is to run Herald's exact schema.
app.post("/v1/notifications", { schema: { response: { 202: accepted } } }, async (req, reply) => {
  const result = await core.accept(req.headers.authorization, req.body, req.headers["idempotency-key"]);
  reply.code(result.status);
  if (!result.replayed) return result.body;
  // A replay is already-serialised JSON: send it as is, past the response schema.
  return reply
    .header("idempotency-replayed", "true")
    .type("application/json")
    .serializer((s) => s)
    .send(result.body);
});

// Also receives Fastify's own parser errors (400 bad JSON, 413 too large, 415 wrong content type).
app.setErrorHandler((err, _req, reply) => {
  const status = err instanceof HttpError ? err.status : (err.statusCode ?? 500);
  const title = err instanceof HttpError ? err.title : (STATUS_CODES[status] ?? "Error");
  const detail = status >= 500 && !(err instanceof HttpError) ? "unexpected error" : err.message;
  const headers = err instanceof HttpError ? err.headers : {};
  reply.code(status).headers(headers).type("application/problem+json");
  return reply.send(JSON.stringify(problemBody(status, title, detail, err.errors)));
});

await app.listen({ port: config.port, host: "127.0.0.1" });
console.log(`fastify peer listening on ${config.port}`);

process.once("SIGTERM", () => {
  Promise.all([app.close(), core.close()]).then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
