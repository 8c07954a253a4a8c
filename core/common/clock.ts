/**
 * The one source of time for payments, delivery, jobs and the sandbox, so tests can move it.
 * @module
 */

/** Tells the current time in ms since the epoch. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to: for tests of timing rules. */
export interface ManualClock extends Clock {
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
  /** Sets the clock to `at`. */
  set(at: number): void;
}

/** A {@link ManualClock} starting at `start` (default: now). */
export function manualClock(start = Date.now()): ManualClock {
  let at = start;
  return {
    now: () => at,
    advance(ms) {
      at += ms;
    },
    set(value) {
      at = value;
    },
  };
}

/** Resolves after `ms` milliseconds of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
