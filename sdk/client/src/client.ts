import type { AcceptedBody, NotificationRequest, OperationId, Operations, TemplateSend } from "./contract.ts";
import { type CallArgs, type CallOptions, call, type HeraldClientOptions, type SendOptions } from "./transport.ts";

type Answer<O extends OperationId> = Promise<Operations[O]["response"]>;
type Body<O extends OperationId> = Operations[O]["body"];
type Query<O extends OperationId> = Operations[O]["query"];

/**
 * Herald's HTTP API, typed from the gateway's OpenAPI document. Each method
 * is one operation; failures throw a `HeraldError` subclass. Sends carry an
 * Idempotency-Key (yours, or a new UUID) that every retry reuses.
 */
export class HeraldClient {
  readonly #options: HeraldClientOptions;

  constructor(options: HeraldClientOptions) {
    if (!options.baseUrl) throw new TypeError("HeraldClient: baseUrl is required");
    if (!options.apiKey) throw new TypeError("HeraldClient: apiKey is required");
    this.#options = { ...options };
  }

  /** Any operation by its OpenAPI `operationId`, for what the named methods do not cover. */
  request<O extends OperationId>(op: O, args: CallArgs<O> = {}, opts?: SendOptions): Answer<O> {
    return call(this.#options, op, args, opts);
  }

  readonly notifications = {
    /** Accepts one notification; the 202 means JetStream stored it. */
    send: (body: NotificationRequest, opts?: SendOptions): Promise<AcceptedBody> =>
      // An explicit send (no `template`) always answers one AcceptedBody; only sends by template may answer per channel.
      this.request("createNotification", { body }, opts) as Promise<AcceptedBody>,
    /** A send by template: one notification, or one per channel (`notifications`) when it names several. */
    sendTemplate: (body: TemplateSend, opts?: SendOptions) => this.request("createNotification", { body }, opts),
    /** Up to 1,000 at once; `results` has one entry per item, in order, each accepted or rejected. */
    sendBatch: (notifications: NotificationRequest[], opts?: SendOptions) => this.request("createNotificationBatch", { body: { notifications } }, opts),
    get: (id: string, opts?: CallOptions) => this.request("getNotification", { params: { id } }, opts),
    /** Newest first; pass `nextCursor` back as `cursor` for the next page. */
    list: (query: Query<"listNotifications"> = {}, opts?: CallOptions) => this.request("listNotifications", { query }, opts),
    attempts: (id: string, opts?: CallOptions) => this.request("listAttempts", { params: { id } }, opts),
    cancel: (id: string, opts?: CallOptions) => this.request("cancelNotification", { params: { id } }, opts),
  };

  readonly templates = {
    list: (query: Query<"listTemplates"> = {}, opts?: CallOptions) => this.request("listTemplates", { query }, opts),
    create: (draft: Body<"createTemplate">, opts?: CallOptions) => this.request("createTemplate", { body: draft }, opts),
    get: (name: string, query?: Query<"getTemplate">, opts?: CallOptions) => this.request("getTemplate", { params: { name }, query }, opts),
    /** Creates the template or replaces its draft. */
    put: (name: string, draft: Body<"putTemplate">, opts?: CallOptions) => this.request("putTemplate", { params: { name }, body: draft }, opts),
    publish: (name: string, opts?: CallOptions) => this.request("publishTemplate", { params: { name } }, opts),
    preview: (name: string, body: Body<"previewTemplate">, opts?: CallOptions) => this.request("previewTemplate", { params: { name }, body }, opts),
  };

  readonly inbox = {
    list: (query: Query<"listInbox">, opts?: CallOptions) => this.request("listInbox", { query }, opts),
    markRead: (id: string, opts?: CallOptions) => this.request("markRead", { params: { id } }, opts),
    markAllRead: (body: Body<"markInboxRead">, opts?: CallOptions) => this.request("markInboxRead", { body }, opts),
    /** A short-lived token a browser opens the user's live inbox with. */
    createToken: (body: Body<"mintInboxToken">, opts?: CallOptions) => this.request("mintInboxToken", { body }, opts),
  };

  readonly users = {
    get: (userId: string, opts?: CallOptions) => this.request("getUser", { params: { userId } }, opts),
    /** Creates the user or replaces their profile. */
    put: (userId: string, profile: Body<"putUser">, opts?: CallOptions) => this.request("putUser", { params: { userId }, body: profile }, opts),
    patch: (userId: string, profile: Body<"patchUser">, opts?: CallOptions) => this.request("patchUser", { params: { userId }, body: profile }, opts),
    /** Erases the user's personal data; answers what was removed. */
    erase: (userId: string, opts?: CallOptions) => this.request("deleteUser", { params: { userId } }, opts),
    /** Everything held about the user, a page at a time (`cursor`). */
    export: (userId: string, query?: Query<"exportUser">, opts?: CallOptions) => this.request("exportUser", { params: { userId }, query }, opts),
    addDevice: (userId: string, device: Body<"addDevice">, opts?: CallOptions) => this.request("addDevice", { params: { userId }, body: device }, opts),
    removeDevice: (userId: string, token: string, opts?: CallOptions) => this.request("removeDevice", { params: { userId, token } }, opts),
    getPreferences: (userId: string, opts?: CallOptions) => this.request("getPreferences", { params: { userId } }, opts),
    setPreferences: (userId: string, body: Body<"setPreferences">, opts?: CallOptions) => this.request("setPreferences", { params: { userId }, body }, opts),
  };

  readonly categories = {
    list: (opts?: CallOptions) => this.request("listCategories", {}, opts),
    get: (category: string, opts?: CallOptions) => this.request("getCategory", { params: { category } }, opts),
    put: (category: string, settings: Body<"putCategory">, opts?: CallOptions) => this.request("putCategory", { params: { category }, body: settings }, opts),
  };

  readonly webhookSecrets = {
    list: (opts?: CallOptions) => this.request("listWebhookSecrets", {}, opts),
    rotate: (body: Body<"rotateWebhookSecret"> = {}, opts?: CallOptions) => this.request("rotateWebhookSecret", { body }, opts),
    delete: (secretId: string, opts?: CallOptions) => this.request("deleteWebhookSecret", { params: { secretId } }, opts),
  };

  /** Status webhooks: the tenant's endpoints, each signed with its own secret (docs/status-webhooks.md). */
  readonly webhookEndpoints = {
    /** Answers the endpoint with its secret, shown here and at `secret()`. */
    create: (body: Body<"createWebhookEndpoint">, opts?: CallOptions) => this.request("createWebhookEndpoint", { body }, opts),
    list: (query: Query<"listWebhookEndpoints"> = {}, opts?: CallOptions) => this.request("listWebhookEndpoints", { query }, opts),
    get: (endpointId: string, opts?: CallOptions) => this.request("getWebhookEndpoint", { params: { endpointId } }, opts),
    /** `enabled: true` re-enables an endpoint that was disabled for failing. */
    update: (endpointId: string, body: Body<"updateWebhookEndpoint">, opts?: CallOptions) =>
      this.request("updateWebhookEndpoint", { params: { endpointId }, body }, opts),
    delete: (endpointId: string, opts?: CallOptions) => this.request("deleteWebhookEndpoint", { params: { endpointId } }, opts),
    secret: (endpointId: string, opts?: CallOptions) => this.request("getWebhookEndpointSecret", { params: { endpointId } }, opts),
    /** The old secret keeps signing beside the new one until the grace ends. */
    rotateSecret: (endpointId: string, body?: Body<"rotateWebhookEndpointSecret">, opts?: CallOptions) =>
      this.request("rotateWebhookEndpointSecret", { params: { endpointId }, body }, opts),
    deliveries: (endpointId: string, query: Query<"listWebhookDeliveries"> = {}, opts?: CallOptions) =>
      this.request("listWebhookDeliveries", { params: { endpointId }, query }, opts),
    attempts: (endpointId: string, deliveryId: string, opts?: CallOptions) =>
      this.request("listWebhookDeliveryAttempts", { params: { endpointId, deliveryId } }, opts),
    retry: (endpointId: string, deliveryId: string, opts?: CallOptions) => this.request("retryWebhookDelivery", { params: { endpointId, deliveryId } }, opts),
    /** Sends again every failed delivery of the endpoint since `since`. */
    replay: (endpointId: string, body: Body<"replayWebhookDeliveries">, opts?: CallOptions) =>
      this.request("replayWebhookDeliveries", { params: { endpointId }, body }, opts),
  };

  /** `/admin/v1`: with an operator's key (HERALD_ADMIN_KEYS), or a tenant's `admin`-scoped key where the route allows it. */
  readonly admin = {
    apiKeys: {
      create: (body: Body<"createApiKey">, opts?: CallOptions) => this.request("createApiKey", { body }, opts),
      list: (query: Query<"listApiKeys"> = {}, opts?: CallOptions) => this.request("listApiKeys", { query }, opts),
      get: (id: string, opts?: CallOptions) => this.request("getApiKey", { params: { id } }, opts),
      revoke: (id: string, opts?: CallOptions) => this.request("revokeApiKey", { params: { id } }, opts),
      rotate: (id: string, body?: Body<"rotateApiKey">, opts?: CallOptions) => this.request("rotateApiKey", { params: { id }, body }, opts),
    },
    tenants: {
      get: (id: string, opts?: CallOptions) => this.request("getTenant", { params: { id } }, opts),
      update: (id: string, body: Body<"updateTenant">, opts?: CallOptions) => this.request("updateTenant", { params: { id }, body }, opts),
    },
    audit: {
      list: (query: Query<"listAudit"> = {}, opts?: CallOptions) => this.request("listAudit", { query }, opts),
    },
    events: {
      /** A window of the events stream by its own time; `nextCursor` is the next stream sequence. */
      read: (query: Query<"readEvents">, opts?: CallOptions) => this.request("readEvents", { query }, opts),
      /** One notification's status timeline, from its events. */
      history: (id: string, query: Query<"notificationHistory"> = {}, opts?: CallOptions) =>
        this.request("notificationHistory", { params: { id }, query }, opts),
    },
    deadLetters: {
      list: (query: Query<"listDeadLetters"> = {}, opts?: CallOptions) => this.request("listDeadLetters", { query }, opts),
      listInvalid: (query: Query<"listInvalidDeadLetters"> = {}, opts?: CallOptions) => this.request("listInvalidDeadLetters", { query }, opts),
      replay: (body: Body<"replayDeadLetters">, opts?: CallOptions) => this.request("replayDeadLetters", { body }, opts),
    },
  };
}
