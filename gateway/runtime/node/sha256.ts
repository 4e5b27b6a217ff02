import { createHash } from "node:crypto";

/** SHA-256 on the calling thread through node:crypto (Node and Deno), without Web Crypto's thread-pool job per call. */
export function nodeSha256Hex(bytes: Uint8Array<ArrayBuffer>): string {
  return createHash("sha256").update(bytes).digest("hex");
}
