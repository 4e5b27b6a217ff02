import { peerAddress } from "../audit-context.ts";

/** `GatewayDeps.clientAddress` for a runtime that tells a request's peer beside the request (Node's socket, Deno's `info`), not from it. */
export interface PeerAddresses {
  /** Called by the entry's handler before the app sees the request. */
  remember(req: Request, address: string | null | undefined): void;
  clientAddress(req: Request): string | undefined;
}

/**
 * The TCP peer of each request in flight, held weakly so it goes with the
 * request. Never `X-Forwarded-For`, which any client can write: behind a
 * proxy the audit log names the proxy.
 */
export function peerAddresses(): PeerAddresses {
  const byRequest = new WeakMap<Request, string>();
  return {
    remember(req, address) {
      const peer = peerAddress(address);
      if (peer !== undefined) byRequest.set(req, peer);
    },
    clientAddress: (req) => byRequest.get(req),
  };
}
