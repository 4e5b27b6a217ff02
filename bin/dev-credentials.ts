import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface DevCredentials {
  tenant: string;
  apiKey: string;
  webhookSecret: string;
}

function randomBase64(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64");
}

/**
 * A dev API key and webhook secret for `npm start` without configuration, kept
 * under the data dir so a restart keeps the curl you pasted working.
 */
export function loadDevCredentials(dataDir: string): DevCredentials {
  const file = join(dataDir, "dev-credentials.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as DevCredentials;
  const creds: DevCredentials = {
    tenant: "dev",
    apiKey: `hk_dev_${randomBase64(18).replace(/[+/=]/g, "")}`,
    webhookSecret: `whsec_${randomBase64(24)}`,
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
  return creds;
}
