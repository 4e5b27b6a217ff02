// The part of workerd's API the workerd entry uses, so `tsc` checks it without @cloudflare/workers-types.
declare module "cloudflare:workers" {
  export interface DurableObjectState {
    blockConcurrencyWhile<T>(run: () => Promise<T>): Promise<T>;
  }
  export abstract class DurableObject<Env = unknown> {
    protected readonly ctx: DurableObjectState;
    protected readonly env: Env;
    constructor(ctx: DurableObjectState, env: Env);
    fetch?(request: Request): Promise<Response>;
  }
  export interface DurableObjectId {}
  export interface DurableObjectStub {
    fetch(request: Request): Promise<Response>;
  }
  export interface DurableObjectNamespace {
    idFromName(name: string): DurableObjectId;
    get(id: DurableObjectId): DurableObjectStub;
  }
}
