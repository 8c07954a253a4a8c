/**
 * Durable scheduled work, kept in KV so a restart loses nothing. A job is written inside the
 * atomic operation that makes it necessary, keyed by its due time, and run by the sweeper once
 * due. What a job means is its owner's business (see `core/payments/jobs.ts`); this module only
 * stores, lists and reschedules. Running a job twice must be harmless.
 * @module
 */

import { kvKeys } from "./keys.ts";

/** What every job has: an id unique among jobs. */
export interface JobBase {
  id: string;
}

/** What running a job decided: it is finished, or it should run again at `retryAt`. */
export type JobResult = { done: true } | { done: false; retryAt: number };

/** Adds `job`, due at `dueAt` (ms since the epoch), to an atomic operation. */
export function scheduleJob<J extends JobBase>(
  op: Deno.AtomicOperation,
  job: J,
  dueAt: number,
): void {
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
export async function runDueJobs<J extends JobBase>(
  kv: Deno.Kv,
  now: number,
  run: (job: J) => Promise<JobResult>,
  onError: (job: J, error: unknown) => void,
  limit = 100,
): Promise<number> {
  let count = 0;
  const due = kv.list<J>({ prefix: kvKeys.jobPrefix(), end: kvKeys.job(now + 1, "") }, { limit });
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
