// The two statistics the telemetry figures use, in one place so the bench's
// report and bench/profile/telemetry-ab.ts state their uncertainty alike.

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** The sample standard deviation (n − 1); NaN with fewer than two values. */
export function sampleSd(xs: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** The mean and its standard error (sample sd / √n). */
export function meanWithStandardError(xs: readonly number[]): { mean: number; standardError: number } {
  return { mean: mean(xs), standardError: sampleSd(xs) / Math.sqrt(xs.length) };
}

/** The value at percentile `p` (0–100) of an ascending list; 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
