import type { AuditEntry } from "../lib/db/audit.ts";
import type { Principal } from "../schemas/tenancy.ts";
import type { ResolvedDeps } from "./context.ts";

/** Who did an administrative action and from where, as the audit log records it. */
export type AuditActor = Pick<AuditEntry, "actor" | "clientAddress">;

/** What `auditContext` reads of a route's context: an admin route's actor, or a /v1 route's principal. */
interface AuditedContext {
  var: { deps: ResolvedDeps; actor?: string; principal?: Principal };
  req: { raw: Request };
}

// An IPv4 peer of a dual-stack listener shows as ::ffff:a.b.c.d.
const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** A socket's peer address as the audit log records it, for the runtime entries' `clientAddress`: an IPv4 peer as IPv4. */
export function peerAddress(address: string | undefined | null): string | undefined {
  if (address === undefined || address === null || address === "") return undefined;
  return MAPPED_V4.exec(address)?.[1] ?? address;
}

/** The request's peer address from the runtime (GatewayDeps.clientAddress); null where the runtime gives none. */
export function clientAddressOf(c: AuditedContext): string | null {
  return c.var.deps.clientAddress?.(c.req.raw) ?? null;
}

/**
 * The actor and client address of the request, for `appendAudit` and
 * `recorded`: the key behind the request (`key:<id>`, `tenant:<id>` for a
 * bootstrap key, `operator:<name>` for an admin key).
 */
export function auditContext(c: AuditedContext): AuditActor {
  const who = c.var.actor ?? c.var.principal?.actor;
  // Only an authenticated route records; one that does not know its caller is a wiring mistake.
  if (who === undefined) throw new Error("auditContext on a route without authentication");
  return { actor: who, clientAddress: clientAddressOf(c) };
}
