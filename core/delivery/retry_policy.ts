/**
 * The retry policy, pure: `WEBHOOK_RETRY_SCHEDULE` lists the delay before each attempt, the
 * first entry included. Attempt `n` (0-based) waits `schedule[n]` (±10% jitter) after the
 * commit that owed the webhook (n = 0) or after the failed attempt before it, and never less
 * than a `Retry-After` the server asked for. After `schedule.length` attempts the webhook is
 * dead-lettered.
 * @module
 */

/**
 * The delay before the attempt that follows `failedAttempts` failures (0: the first attempt),
 * with ±10% jitter and at least `retryAfterMs`; `undefined` once the schedule is exhausted.
 */
export function nextDelay(
  schedule: number[],
  failedAttempts: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number | undefined {
  if (failedAttempts >= schedule.length) return undefined;
  const base = schedule[failedAttempts];
  const jittered = Math.round(base * (0.9 + 0.2 * random()));
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** The delay before a webhook's first attempt: the schedule's first entry, jittered. */
export function firstAttemptDelay(schedule: number[], random: () => number = Math.random): number {
  return nextDelay(schedule, 0, undefined, random) ?? 0;
}

/** Parses `Retry-After` (seconds or an HTTP date) into ms, capped at 24 hours. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const ms = /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, 86_400_000) : undefined;
}

/** How long a lease protects one attempt: two calls of at most `callTimeoutMs` each, and KV writes. */
export function attemptLeaseMs(callTimeoutMs: number): number {
  return 2 * callTimeoutMs + 2_000;
}
