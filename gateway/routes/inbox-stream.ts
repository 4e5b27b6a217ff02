import { Hono, type Context } from "hono";
import { cors } from "hono/cors";
import { streamSSE, type SSEStreamingApi } from "hono/streaming";
import { createInboxTokens, type InboxTokenClaims, type InboxTokens } from "../../lib/inbox-token.ts";
import type { InboxFeedItem } from "../../schemas/inbox-feed.ts";
import { isUuid } from "../../schemas/storable.ts";
import type { BaseEnv, InboxStreamDeps } from "../context.ts";
import { AppError } from "../errors.ts";
import { createLiveMerge, REPLAY_PAGE } from "../inbox-live.ts";
import { bearerKey } from "../middleware/auth.ts";

/** How long a browser waits before reconnecting after the stream dropped. */
export const RETRY_MS = 2_000;
const HEARTBEAT_MS = 15_000;
/** Writes waiting on a reader this slow close its stream; it resumes from Postgres on reconnect. */
const MAX_BACKLOG = 1_000;

/** The 503 of a gateway without HERALD_TOKEN_SECRET: it can neither mint nor check tokens. */
export function noTokenSecret(): AppError {
  return new AppError("unavailable", { detail: "The realtime inbox is off: set HERALD_TOKEN_SECRET (32+ random characters) on the gateway" });
}

/**
 * `GET /v1/inbox/stream`: a user's new in-app notifications as Server-Sent
 * Events, for a browser's `EventSource`. Authenticated by an inbox token
 * (`?token=`, as EventSource cannot set headers, or `Authorization: Bearer`),
 * never by an API key, which a browser must not hold. CORS is open to any
 * origin unless `corsOrigins` lists some: the token is in the URL and no
 * cookie is read, so the list narrows which sites may embed the feed.
 */
export function inboxStreamRoutes(deps: InboxStreamDeps | undefined, corsOrigins?: readonly string[]): Hono<BaseEnv> {
  const routes = new Hono<BaseEnv>();
  const tokens = deps?.tokenSecret ? createInboxTokens(deps.tokenSecret) : undefined;
  const origin = corsOrigins === undefined || corsOrigins.length === 0 || corsOrigins.includes("*") ? "*" : [...corsOrigins];
  routes.use(cors({ origin, allowMethods: ["GET"], allowHeaders: ["Authorization", "Last-Event-ID"], maxAge: 600 }));

  routes.get("/", async (c) => {
    if (!deps || !tokens) throw noTokenSecret();
    const claims = await authenticate(c, tokens);
    const lastEventId = c.req.header("last-event-id") ?? c.req.query("lastEventId");
    const after = lastEventId !== undefined && isUuid(lastEventId) ? lastEventId : undefined;
    let stream: SSEStreamingApi | undefined;
    const merge = createLiveMerge((item) => write(stream, item), { maxBacklog: MAX_BACKLOG, overflow: () => stream?.abort() });
    // Subscribed before the replay is read: an item sent meanwhile is in one or the other, and the merge drops the repeat.
    const sub = await deps.feed.subscribe(claims.tenant, claims.userId, merge.live).catch((err: unknown) => {
      throw new AppError("unavailable", { detail: "The live inbox feed is unavailable", cause: err });
    });
    const { logger } = c.var.deps;
    return streamSSE(c, async (s) => {
      stream = s;
      const closed = new Promise<void>((resolve) => {
        s.onAbort(resolve);
        if (deps.closing?.aborted) resolve();
        deps.closing?.addEventListener("abort", () => resolve(), { once: true });
      });
      const heartbeat = setInterval(() => void s.write(": heartbeat\n\n"), deps.heartbeatMs ?? HEARTBEAT_MS);
      try {
        await s.write(`retry: ${RETRY_MS}\n\n`);
        if (after !== undefined) await replay(deps, claims, after, merge.replayed, () => s.aborted);
        await merge.endReplay();
        await closed;
      } catch (err) {
        // The browser reconnects with the last id it got, so a replay cut short loses nothing.
        logger.warn({ err, tenantId: claims.tenant }, "inbox stream ended by an error");
      } finally {
        clearInterval(heartbeat);
        sub.close();
      }
    });
  });

  return routes;
}

/** The claims of a valid inbox token, or a 401 whatever was wrong with it. */
async function authenticate(c: Context<BaseEnv>, tokens: InboxTokens): Promise<InboxTokenClaims> {
  const token = c.req.query("token") ?? bearerKey(c.req.header("authorization"));
  if (token === undefined) throw new AppError("unauthorized", { detail: "Pass an inbox token as ?token= (from POST /v1/inbox/tokens)" });
  const check = await tokens.verify(token);
  if (!check.ok) throw new AppError("unauthorized", { detail: `The inbox token is ${check.reason === "expired" ? "expired" : "not valid"}` });
  return check.claims;
}

/** Writes, page by page, what the user was sent after `afterId`. */
async function replay(
  deps: InboxStreamDeps,
  claims: InboxTokenClaims,
  afterId: string,
  emit: (item: InboxFeedItem) => Promise<boolean>,
  aborted: () => boolean,
): Promise<void> {
  for (let after = afterId; !aborted(); ) {
    const page = await deps.sentAfter(claims.tenant, claims.userId, after, REPLAY_PAGE);
    for (const item of page) await emit(item);
    const last = page.at(-1);
    if (last === undefined || page.length < REPLAY_PAGE) return;
    after = last.id;
  }
}

/** One SSE event, formatted here and written in one call, so concurrent writes keep their order. */
function write(stream: SSEStreamingApi | undefined, item: InboxFeedItem): Promise<void> {
  if (stream === undefined) return Promise.resolve();
  const { id, title, body, data, createdAt } = item;
  return stream.write(`event: notification\nid: ${id}\ndata: ${JSON.stringify({ id, title, body, data, createdAt })}\n\n`).then(() => undefined);
}
