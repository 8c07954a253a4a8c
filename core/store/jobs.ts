/**
 * Durable scheduled work, kept in KV so a restart loses nothing: a sandbox payment reaching
 * its final outcome, and a redirect payment abandoned by its buyer. Jobs are written inside
 * the atomic operation that makes them necessary and run by the sweeper when due. Running a
 * job twice is harmless: each applies an outcome through the state machine, which ignores a
 * repeat.
 * @module
 */

import { kvKeys } from "./keys.ts";
import type { CardDetails, CredentialsOnFile, Decline } from "../processor/types.ts";

/** A scheduled job. */
export type Job =
  /** Apply a later payment outcome (the sandbox's pending cards). */
  | {
    kind: "payment_outcome";
    id: string;
    wixTransactionId: string;
    outcome:
      | { kind: "approved"; cardDetails?: CardDetails; credentialsOnFile?: CredentialsOnFile }
      | ({ kind: "declined" } & Decline);
  }
  /** Cancel a redirect payment whose buyer never chose (3030). */
  | { kind: "abandon_redirect"; id: string; wixTransactionId: string };

/** What running a job decided: it is finished, or it should run again at `retryAt`. */
export type JobResult = { done: true } | { done: false; retryAt: number };

/** Adds `job`, due at `dueAt` (ms since the epoch), to an atomic operation. */
export function scheduleJob(op: Deno.AtomicOperation, job: Job, dueAt: number): void {
  op.set(kvKeys.job(dueAt, job.id), job);
}

/** A new job id. */
export function newJobId(): string {
  return crypto.randomUUID();
}

/**
 * Runs every job due at `now` (at most `limit`), oldest first, and removes or reschedules it
 * as `run` decides. A job that throws is reported to `onError` and retried a second later.
 */
export async function runDueJobs(
  kv: Deno.Kv,
  now: number,
  run: (job: Job) => Promise<JobResult>,
  onError: (job: Job, error: unknown) => void,
  limit = 100,
): Promise<number> {
  let count = 0;
  const due = kv.list<Job>({ prefix: kvKeys.jobPrefix(), end: kvKeys.job(now + 1, "") }, { limit });
  for await (const entry of due) {
    const job = entry.value;
    let result: JobResult;
    try {
      result = await run(job);
    } catch (error) {
      onError(job, error);
      result = { done: false, retryAt: now + 1000 };
    }
    const op = kv.atomic().check(entry).delete(entry.key);
    if (!result.done) scheduleJob(op, job, result.retryAt);
    await op.commit();
    count++;
  }
  return count;
}
