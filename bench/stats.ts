/**
 * The one statistic the load generator and the coordinator both take of latencies.
 * @module
 */

/** The `p`th percentile (0-100) of `sorted` (ascending), nearest rank; NaN when it is empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
