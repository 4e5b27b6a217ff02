// The HTTP ceiling of this box: bare Bun.serve doing the least a POST handler
// can (read the body, answer a fixed 202), under the same load generator as
// the gateways. No framework, validation, Redis or NATS.
// Run: PORT=8090 bun bench/limits/bun-serve.ts

const port = Number(process.env.PORT ?? 8090);
const accepted = JSON.stringify({ id: "00000000-0000-7000-8000-000000000000", status: "accepted", acceptedAt: new Date(0).toISOString() });
const headers = { "content-type": "application/json" };

const server = Bun.serve({
  port,
  hostname: "127.0.0.1",
  routes: {
    "/v1/notifications": {
      // Reading the body keeps the comparison honest: a gateway must consume it.
      POST: async (req) => {
        await req.arrayBuffer();
        return new Response(accepted, { status: 202, headers });
      },
    },
  },
  fetch: () => new Response("not found", { status: 404 }),
});
// No SIGTERM handler: there is nothing to flush, so the default (exit) is right.
console.log(`bun-serve limit listening on ${server.port}`);
