/**
 * The pace of a backlog drain while buyers are paying. After a Wix outage, thousands of owed
 * webhooks fall due at once; delivered flat out, they take the thread the payments are answered
 * on. While payments keep coming (one owed a webhook in the last second), attempts that are not
 * a fresh payment's first one start at most `ratePerSecond` a second; with no payments, the
 * backlog drains as fast as Wix answers. Fresh payments' own webhooks are never held.
 * @module
 */

/** How long after the last payment the service still counts as busy. */
const BUSY_FOR_MS = 1000;

/** A token bucket that only applies while payments are being made. */
export class DrainPace {
  #lastPaymentAt = Number.NEGATIVE_INFINITY;
  #tokens = 0;
  #refilledAt = 0;
  readonly #burst: number;

  /** `ratePerSecond` 0: never paced. */
  constructor(readonly ratePerSecond: number) {
    // A twentieth of a second's worth at once, at least one: no bursts that fill the loop.
    this.#burst = Math.max(1, ratePerSecond / 20);
  }

  /** A payment owed a webhook at `now`. */
  paymentSeen(now: number): void {
    this.#lastPaymentAt = now;
  }

  /** 0 when a backlog attempt may start at `now` (and takes its token); else ms to wait. */
  take(now: number): number {
    if (this.ratePerSecond <= 0 || now - this.#lastPaymentAt > BUSY_FOR_MS) return 0;
    const elapsed = Math.max(0, now - this.#refilledAt);
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.ratePerSecond / 1000);
    this.#refilledAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.#tokens) * 1000 / this.ratePerSecond);
  }
}
