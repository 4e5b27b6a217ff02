import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface DevCredentials {
  tenant: string;
  apiKey: string;
  webhookSecret: string;
  /** Signs inbox stream tokens and unsubscribe links (HERALD_TOKEN_SECRET). */
  tokenSecret: string;
}

function randomBase64(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64");
}

/**
 * A dev API key, webhook secret and token secret for `npm start` without configuration, kept
 * under the data dir so a restart keeps the curl you pasted working.
 */
export function loadDevCredentials(dataDir: string): DevCredentials {
  const file = join(dataDir, "dev-credentials.json");
  const kept = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Partial<DevCredentials>) : {};
  // A file from before a credential existed gets the new one added, keeping the others.
  if (kept.tenant && kept.apiKey && kept.webhookSecret && kept.tokenSecret) return kept as DevCredentials;
  const creds: DevCredentials = {
    tenant: kept.tenant ?? "dev",
    apiKey: kept.apiKey ?? `hk_dev_${randomBase64(18).replace(/[+/=]/g, "")}`,
    webhookSecret: kept.webhookSecret ?? `whsec_${randomBase64(24)}`,
    tokenSecret: kept.tokenSecret ?? randomBase64(36),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
  return creds;
}
