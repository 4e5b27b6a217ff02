// The part of Deno's global API the Deno entry uses, so `tsc` checks it without Deno's own types.
declare namespace Deno {
  type Signal = "SIGTERM" | "SIGINT";
  interface HttpServer {
    shutdown(): Promise<void>;
  }
  interface ServeOptions {
    port: number;
    hostname: string;
    onListen?: (addr: { hostname: string; port: number }) => void;
  }
  const env: { toObject(): Record<string, string> };
  interface ServeHandlerInfo {
    remoteAddr: { hostname: string; port: number };
  }
  function serve(options: ServeOptions, handler: (request: Request, info: ServeHandlerInfo) => Response | Promise<Response>): HttpServer;
  function exit(code: number): never;
  function addSignalListener(signal: Signal, handler: () => void): void;
}
