/**
 * Whether the store takes writes. Every atomic commit of a KV opened by `openKv` passes through
 * here: one the store refuses (a full disk, a file made read-only, an I/O error) becomes a
 * retryable `store_unavailable` {@link DomainError} instead of an internal error, and is
 * remembered until a later commit succeeds, so readiness can say so. KV's own limit errors (a
 * key or value too large) are the caller's mistake and pass through unchanged.
 *
 * Tests and the fault simulator inject commit faults here ({@link injectCommitFault}): a commit
 * that fails before anything is written, or one that fails after it was applied, so that its
 * caller never learns it succeeded.
 * @module
 */

import { DomainError } from "../common/mod.ts";
import { kvKeys } from "./keys.ts";

/** What an injected fault does to one commit. */
export type CommitFault = "fail" | "failAfterApply";

/** Decides, per commit, whether it meets a fault. */
export type CommitFaultPlan = () => CommitFault | undefined;

/** The store's health as its commits have shown it. */
export interface StoreHealth {
  /** When commits started failing (ms since the epoch); absent while they succeed. */
  failingSince?: number;
  /** The store's last refusal, e.g. `disk I/O error`. */
  lastError?: string;
}

interface Watch {
  health: StoreHealth;
  fault?: CommitFaultPlan;
  onFailure?: () => void;
}

const WATCHES = new WeakMap<Deno.Kv, Watch>();

/** Seconds a caller refused for a store failure is asked to wait before retrying. */
export const STORE_RETRY_AFTER_SECONDS = 2;

/** KV's own limit errors: a mistake of the caller's, not a store that stopped writing. */
const CALLER_ERROR = /too large|too many|cannot be empty|^expected |invalid|non-U64|not supported/i;

/**
 * Watches every commit of `kv` (see the module comment); `onFailure` is called for each
 * refused commit (a metric). Returns `kv`.
 */
export function watchCommits(kv: Deno.Kv, onFailure?: () => void): Deno.Kv {
  const watch: Watch = { health: {}, onFailure };
  WATCHES.set(kv, watch);
  const atomic = kv.atomic.bind(kv);
  kv.atomic = () => {
    const op = atomic();
    const commit = op.commit.bind(op);
    op.commit = async () => {
      const fault = watch.fault?.();
      try {
        if (fault === "fail") throw new Error("injected fault: the commit failed");
        const result = await commit();
        if (fault === "failAfterApply") {
          throw new Error("injected fault: the commit was applied, then its answer lost");
        }
        watch.health = {};
        return result;
      } catch (error) {
        throw storeFailure(watch, error);
      }
    };
    return op;
  };
  return kv;
}

/** A refused commit: a `store_unavailable` error, remembered; a caller's mistake unchanged. */
function storeFailure(watch: Watch, error: unknown): unknown {
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  if (error instanceof DomainError || CALLER_ERROR.test(message)) return error;
  watch.health = { failingSince: watch.health.failingSince ?? Date.now(), lastError: message };
  watch.onFailure?.();
  return new DomainError(
    "store_unavailable",
    `the store did not take the write (${message}); retry later`,
    STORE_RETRY_AFTER_SECONDS,
  );
}

/** The health of `kv`'s commits (always healthy for a KV `openKv` did not open). */
export function storeHealth(kv: Deno.Kv): StoreHealth {
  return WATCHES.get(kv)?.health ?? {};
}

/** Makes `plan` decide each later commit's fault; `undefined` removes it. */
export function injectCommitFault(kv: Deno.Kv, plan: CommitFaultPlan | undefined): void {
  const watch = WATCHES.get(kv);
  if (!watch) throw new Error("this KV's commits are not watched: open it with openKv");
  watch.fault = plan;
}

/**
 * Commits one small write (the probe key) within `timeoutMs`: resolves when the store takes
 * writes, rejects with why not. Readiness and start-up use it.
 */
export async function probeWrite(kv: Deno.Kv, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      kv.atomic().set(kvKeys.readinessProbe(), Date.now()).commit(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the store did not answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
