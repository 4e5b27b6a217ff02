# Herald's gateway on workerd, Cloudflare's runtime, run locally or on your own hosts:
#   npm run build:workerd
#   NATS_URL=ws://… DATABASE_URL=postgres://… HERALD_API_KEYS=… \
#     npx workerd serve deploy/workerd/config.capnp --socket-addr http=127.0.0.1:8787
# For Cloudflare itself, deploy/workerd/wrangler.toml says the same.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "gateway", worker = .gateway),
    # Outbound connections (NATS, Postgres, Upstash) may reach private and loopback addresses too.
    (name = "network", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "*:8787", http = (), service = "gateway")],
);

const gateway :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "../../dist/workerd/worker.js")],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["nodejs_compat"],
  globalOutbound = "network",
  bindings = [
    (name = "HERALD_GATEWAY", durableObjectNamespace = "GatewayHost"),
    (name = "NATS_URL", fromEnvironment = "NATS_URL"),
    (name = "DATABASE_URL", fromEnvironment = "DATABASE_URL"),
    (name = "HERALD_API_KEYS", fromEnvironment = "HERALD_API_KEYS"),
    (name = "HERALD_NAMESPACE", fromEnvironment = "HERALD_NAMESPACE"),
    (name = "UPSTASH_REDIS_REST_URL", fromEnvironment = "UPSTASH_REDIS_REST_URL"),
    (name = "UPSTASH_REDIS_REST_TOKEN", fromEnvironment = "UPSTASH_REDIS_REST_TOKEN"),
    (name = "REDIS_URL", fromEnvironment = "REDIS_URL"),
    (name = "HERALD_BODY_LIMIT_BYTES", fromEnvironment = "HERALD_BODY_LIMIT_BYTES"),
    (name = "HERALD_PUBLISH_TIMEOUT_MS", fromEnvironment = "HERALD_PUBLISH_TIMEOUT_MS"),
    (name = "HERALD_RATE_LIMIT", fromEnvironment = "HERALD_RATE_LIMIT"),
    (name = "HERALD_RATE_LIMIT_BURST", fromEnvironment = "HERALD_RATE_LIMIT_BURST"),
    (name = "HERALD_RATE_LIMIT_TENANTS", fromEnvironment = "HERALD_RATE_LIMIT_TENANTS"),
    (name = "HERALD_GATEWAY_SHARDS", fromEnvironment = "HERALD_GATEWAY_SHARDS"),
    (name = "LOG_LEVEL", fromEnvironment = "LOG_LEVEL"),
  ],
  durableObjectNamespaces = [(className = "GatewayHost", uniqueKey = "herald-gateway")],
  durableObjectStorage = (inMemory = void),
);
