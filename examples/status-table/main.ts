// bun examples/status-table/main.ts: keeps notification_status in DATABASE_URL from the events of HERALD_NAMESPACE on NATS_URL.
import postgres from "postgres";
import { startStatusTable } from "./status-table.ts";

const env = process.env;
const sql = postgres(env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/status_table", { max: 8, onnotice: () => {} });
const subscription = await startStatusTable({
  sql,
  servers: env.NATS_URL ?? "nats://127.0.0.1:4222",
  namespace: env.HERALD_NAMESPACE ?? "herald",
  durable: env.STATUS_TABLE_DURABLE ?? "status-table",
});
console.log(`status-table: consuming as ${subscription.consumer}`);

async function stop(): Promise<void> {
  await subscription.close();
  await sql.end();
  process.exit(0);
}
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
