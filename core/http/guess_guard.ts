/**
 * Slowing key guessing: failed sign-ins and bearer checks are counted per client address. An
 * address gets {@link GUESS_GUARD_DEFAULTS}`.freePerMinute` failures a minute for free; past
 * them it is locked, and every further failure doubles the lock (1 s, 2 s, 4 s, ... up to 15
 * minutes) until it has been quiet for {@link GUESS_GUARD_DEFAULTS}`.forgetAfterMs`. A locked
 * address is answered 429 before its key is looked at: otherwise the answer would still tell a
 * right guess from a wrong one. Other addresses are never affected, so the operator's right key
 * always works from their own address.
 *
 * Counts live in the process's memory (a bounded map, oldest address dropped first): with
 * several instances each counts its own, which multiplies the allowance, not the lock.
 * @module
 */

/** The guard's settings. */
export interface GuessGuardOptions {
  freePerMinute: number;
  firstLockMs: number;
  maxLockMs: number;
  /** An address with no failure for this long starts afresh. */
  forgetAfterMs: number;
  /** Addresses remembered at most (an attacker with many addresses cannot exhaust memory). */
  maxAddresses: number;
  now: () => number;
  /** Called when an address is locked for the first time since it was last quiet. */
  onFirstLock?: (address: string) => void;
}

/** The defaults: about ten free failures a minute, then locks from 1 s doubling to 15 min. */
export const GUESS_GUARD_DEFAULTS: GuessGuardOptions = {
  freePerMinute: 10,
  firstLockMs: 1000,
  maxLockMs: 15 * 60_000,
  forgetAfterMs: 15 * 60_000,
  maxAddresses: 10_000,
  now: Date.now,
};

interface AddressState {
  /** Times of the failures in the last minute (at most `freePerMinute` kept). */
  recent: number[];
  /** How many times it has been locked since it was last quiet. */
  locks: number;
  lockedUntil: number;
  lastFailure: number;
}

/** What one failure did: `locked` for a first lock, `lockedAgain` for a longer one. */
export type FailureEffect = "counted" | "locked" | "lockedAgain";

/** Counts failed key attempts per address and says which addresses must wait. */
export class GuessGuard {
  readonly #options: GuessGuardOptions;
  readonly #addresses = new Map<string, AddressState>();

  constructor(options: Partial<GuessGuardOptions> = {}) {
    this.#options = { ...GUESS_GUARD_DEFAULTS, ...options };
  }

  /** How long `address` must still wait, in ms (0: it may try). */
  waitFor(address: string): number {
    const state = this.#current(address);
    return state ? Math.max(0, state.lockedUntil - this.#options.now()) : 0;
  }

  /** Counts a failed attempt from `address`. */
  failed(address: string): FailureEffect {
    const now = this.#options.now();
    const state = this.#current(address) ??
      { recent: [], locks: 0, lockedUntil: 0, lastFailure: 0 };
    this.#addresses.delete(address); // re-inserted last: the map stays ordered by last failure
    state.lastFailure = now;
    state.recent = [...state.recent.filter((at) => now - at < 60_000), now]
      .slice(-this.#options.freePerMinute);
    const overAllowance = state.recent.length >= this.#options.freePerMinute;
    let effect: FailureEffect = "counted";
    if (state.locks > 0 || overAllowance) {
      const lockMs = Math.min(
        this.#options.firstLockMs * 2 ** state.locks,
        this.#options.maxLockMs,
      );
      effect = state.locks === 0 ? "locked" : "lockedAgain";
      state.locks++;
      state.lockedUntil = now + lockMs;
    }
    this.#addresses.set(address, state);
    this.#evict();
    if (effect === "locked") this.#options.onFirstLock?.(address);
    return effect;
  }

  /** A right key from `address`: it starts afresh. */
  succeeded(address: string): void {
    this.#addresses.delete(address);
  }

  #current(address: string): AddressState | undefined {
    const state = this.#addresses.get(address);
    if (
      state && this.#options.now() - state.lastFailure > this.#options.forgetAfterMs &&
      state.lockedUntil <= this.#options.now()
    ) {
      this.#addresses.delete(address);
      return undefined;
    }
    return state;
  }

  #evict(): void {
    for (const address of this.#addresses.keys()) {
      if (this.#addresses.size <= this.#options.maxAddresses) return;
      this.#addresses.delete(address);
    }
  }
}
