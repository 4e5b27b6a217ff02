/** Items per `POST /v1/notifications/batch`. */
export const BATCH_SIZE = 1000;

/**
 * Posts `items` through the batch endpoint, `BATCH_SIZE` a request, from
 * `posters` concurrent loops; resolves to the accepted ids in the items'
 * order, and throws naming `phase` on any answer but 202.
 */
export async function postBatches(gatewayUrl: string, apiKey: string, items: readonly unknown[], opts: { phase: string; posters?: number }): Promise<string[]> {
  const ids: string[] = new Array(items.length);
  let next = 0;
  const poster = async (): Promise<void> => {
    while (next < items.length) {
      const start = next;
      next = Math.min(items.length, next + BATCH_SIZE);
      const res = await fetch(`${gatewayUrl}/v1/notifications/batch`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ notifications: items.slice(start, next) }),
      });
      if (res.status !== 202) throw new Error(`${opts.phase} phase: batch answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      const { results } = (await res.json()) as { results: Array<{ id: string }> };
      results.forEach((r, i) => {
        ids[start + i] = r.id;
      });
    }
  };
  await Promise.all(Array.from({ length: opts.posters ?? 1 }, poster));
  return ids;
}
