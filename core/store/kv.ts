/**
 * Small Deno KV helpers: opening a database at a path, and optimistic read-check-write with
 * retries (a stale versionstamp answers `ok: false`; two processes on one SQLite file can also
 * throw "database is locked", which is retried the same way).
 * @module
 */

import { dirname } from "node:path";
import { sleep } from "../common/mod.ts";
import { groupCommits } from "./group_commit.ts";
import { watchCommits } from "./health.ts";

/** `KV_PATH` value meaning "the database Deno Deploy provisions for this app" (`Deno.openKv()`). */
export const DEPLOY_KV = "deploy";

/** False for KV paths that are not a local file: memory, remote, or Deno Deploy's database. */
export function isLocalKvFile(path: string): boolean {
  return path !== ":memory:" && path !== DEPLOY_KV && !/^https?:\/\//.test(path);
}

/** Which database `path` opens, in words for the start-up log. */
export function describeKvPath(path: string): string {
  if (path === ":memory:") return "in memory (lost when the process stops)";
  if (path === DEPLOY_KV) return "the database Deno Deploy provisions for this app (Deno.openKv())";
  if (/^https?:\/\//.test(path)) return `remote KV Connect database at ${path}`;
  return `local file ${path}`;
}

/**
 * Opens the KV at `path` (`:memory:`, a file, a remote URL, or `deploy` for the database Deno
 * Deploy provisions), creating a local file's parent directories. Its commits are watched
 * (`health.ts`): a commit the store refuses is a `store_unavailable` error, and `onCommitFailure`
 * is told of it.
 */
export async function openKv(
  path: string,
  options: { onCommitFailure?: () => void } = {},
): Promise<Deno.Kv> {
  const watched = (kv: Deno.Kv) => watchCommits(kv, options.onCommitFailure);
  if (path === DEPLOY_KV) return watched(await Deno.openKv());
  if (path !== ":memory:" && !isLocalKvFile(path)) return watched(await Deno.openKv(path));
  if (path !== ":memory:") await Deno.mkdir(dirname(path), { recursive: true });
  // Concurrent requests share fsyncs; a commit that meets another process's lock waits.
  return watched(groupCommits(retryLockedCommits(await Deno.openKv(path))));
}

const MAX_LOCKED_TRIES = 500;

/**
 * Makes every atomic commit of `kv` wait out another process's SQLite lock: a commit that
 * throws "database is locked" did not happen, so committing the same operation again is safe.
 * With several instances on one file, contention costs latency, never a failed write (a failed
 * check still answers `ok: false`, as it should).
 */
export function retryLockedCommits(kv: Deno.Kv): Deno.Kv {
  const atomic = kv.atomic.bind(kv);
  kv.atomic = () => {
    const op = atomic();
    const commit = op.commit.bind(op);
    op.commit = async () => {
      for (let tries = 1;; tries++) {
        try {
          return await commit();
        } catch (error) {
          if (!isLockedError(error) || tries >= MAX_LOCKED_TRIES) throw error;
        }
        await sleep(1 + Math.min(20, tries) * Math.random());
      }
    };
    return op;
  };
  return kv;
}

/** What one attempt of {@link atomicRetry} decided: commit `op` and return `value`, or stop. */
export type AtomicStep<T> = { commit: Deno.AtomicOperation; value: T } | { done: T };

const MAX_ATTEMPTS = 200;

function isLockedError(error: unknown): boolean {
  return error instanceof Error && /database is locked|database is busy/i.test(error.message);
}

/**
 * Runs `attempt` (which reads current state and builds a checked atomic operation) until the
 * operation commits, and returns its value. `attempt` may also return `{ done }` to stop
 * without writing. Conflicts and lock errors are retried with a short jittered backoff.
 * `attempt` gets its try number: a first try may skip a read when it knows the state (a key
 * it expects absent, a record it just wrote) and let a failed check send it to the read.
 * `onCommitted` is called with the operation that committed and its versionstamp (e.g. to
 * announce what it owed, or to write the same records again later without reading them).
 */
export async function atomicRetry<T>(
  attempt: (tries: number) => Promise<AtomicStep<T>>,
  onCommitted?: (op: Deno.AtomicOperation, versionstamp: string) => void,
): Promise<T> {
  for (let tries = 1;; tries++) {
    const step = await attempt(tries);
    if ("done" in step) return step.done;
    try {
      const result = await step.commit.commit();
      if (result.ok) {
        onCommitted?.(step.commit, result.versionstamp);
        return step.value;
      }
    } catch (error) {
      if (!isLockedError(error)) throw error;
    }
    if (tries >= MAX_ATTEMPTS) {
      throw new Error(`KV write kept conflicting after ${MAX_ATTEMPTS} attempts`);
    }
    // A first try that guessed the state wrong reads it again at once; later ones back off.
    if (tries > 1) await sleep(Math.min(50, tries) * Math.random());
  }
}

/** The entry a first try of {@link atomicRetry} may assume: `value` at `versionstamp`. */
export function knownEntry<T>(
  key: Deno.KvKey,
  value: T | null,
  versionstamp: string | null,
): Deno.KvEntryMaybe<T> {
  return { key, value, versionstamp } as Deno.KvEntryMaybe<T>;
}

/** Reads `keys` ten at a time (`getMany`'s limit), in order; keys with no value are left out. */
export async function getExisting<T>(kv: Deno.Kv, keys: Deno.KvKey[]): Promise<Deno.KvEntry<T>[]> {
  const entries: Deno.KvEntry<T>[] = [];
  for (let i = 0; i < keys.length; i += 10) {
    for (const entry of await kv.getMany<T[]>(keys.slice(i, i + 10))) {
      if (entry.value !== null) entries.push(entry as Deno.KvEntry<T>);
    }
  }
  return entries;
}
