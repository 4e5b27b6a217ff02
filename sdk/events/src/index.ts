// @herald/events: subscribe to Herald's lifecycle events from another service.
export type { StartAt } from "./consumer-config.ts";
export {
  type EventContext,
  type EventSource,
  type InvalidMessage,
  retryDelayMs,
  subscribe,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionStats,
} from "./subscribe.ts";
export { compareEvents, eventIdOf, laterEvent, LifecycleEvent } from "../../../schemas/events.ts";
export { CHANNELS, type Channel, EVENT_TYPES, type EventType } from "../../../schemas/enums.ts";
