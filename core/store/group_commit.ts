/**
 * Group commit for Deno KV: while one atomic operation is being committed (one fsync on a local
 * file), the operations that arrive wait and are then committed together as one atomic
 * operation, so concurrent requests share fsyncs. A lone operation commits at once.
 *
 * Each operation keeps its own meaning: operations whose keys overlap are never in one batch
 * (the later one waits for the next), a batch stays inside KV's limits, and when a batch fails a
 * check (or cannot commit), each of its operations is committed alone and gets its own result.
 *
 * An operation no request waits for (a webhook's delivery mark, the request journal) can be
 * marked {@link deferCommit}: it rides in the next commit a request makes, or commits after at
 * most {@link DEFERRED_COMMIT_MS} when none comes. So background writes do not hold the one
 * SQLite writer between a request and its fsync: at half load that writer was busy 60% of the
 * time, and a request's commit queued behind a delivery mark's.
 * @module
 */

type Mutation = (op: Deno.AtomicOperation) => void;

/** One caller's operation, recorded until it is committed with others. */
interface Pending {
  checks: Deno.AtomicCheck[];
  mutations: Mutation[];
  keys: Set<string>;
  bytes: number;
  keyBytes: number;
  /** Marked by {@link deferCommit}: it may wait for a request's commit to ride in. */
  deferred: boolean;
  resolve(result: Deno.KvCommitResult | Deno.KvCommitError): void;
  reject(error: unknown): void;
}

/** Counters: how many operations were asked for, and how many commits carried them. */
export interface GroupCommitStats {
  operations: number;
  commits: number;
  /** Batches that failed a check and were committed operation by operation. */
  splitBatches: number;
}

// KV's limits per atomic operation, with a margin for what the estimate misses.
const MAX_CHECKS = 100;
const MAX_MUTATIONS = 1000;
const MAX_BYTES = 700 * 1024;
const MAX_KEY_BYTES = 70 * 1024;
const MAX_BATCH = 64;
/** The longest a {@link deferCommit} operation waits for a request's commit to ride in. */
export const DEFERRED_COMMIT_MS = 4;

const keyId = (key: Deno.KvKey) =>
  key.map((part) =>
    part instanceof Uint8Array ? `u:${part.toHex()}` : `${typeof part}:${String(part)}`
  ).join("\u0000");

/** An upper estimate of a value's serialized size, walked without building a string. */
function sizeOf(value: unknown, depth = 0): number {
  switch (typeof value) {
    case "string":
      return 4 + value.length * 3;
    case "object":
      break;
    default:
      return 16;
  }
  if (value === null) return 4;
  if (value instanceof Uint8Array) return 8 + value.byteLength;
  if (depth > 32) return 64 * 1024;
  let size = 8;
  if (Array.isArray(value)) {
    for (const item of value) size += 2 + sizeOf(item, depth + 1);
    return size;
  }
  for (const key in value) {
    size += 4 + key.length * 3 + sizeOf((value as Record<string, unknown>)[key], depth + 1);
  }
  return size;
}

/** An atomic operation that records what it will do, for the group committer. */
class RecordingAtomic {
  readonly checks: Deno.AtomicCheck[] = [];
  readonly mutations: Mutation[] = [];
  readonly keys = new Set<string>();
  keyBytes = 0;
  bytes = 0;
  deferred = false;
  constructor(
    private readonly submit: (
      op: RecordingAtomic,
    ) => Promise<Deno.KvCommitResult | Deno.KvCommitError>,
  ) {}

  #touch(key: Deno.KvKey, value?: unknown) {
    const id = keyId(key);
    this.keys.add(id);
    this.keyBytes += id.length;
    this.bytes += id.length + (value === undefined ? 0 : sizeOf(value));
  }
  check(...checks: Deno.AtomicCheck[]): this {
    for (const check of checks) this.#touch(check.key);
    this.checks.push(...checks);
    return this;
  }
  mutate(...mutations: Deno.KvMutation[]): this {
    for (const m of mutations) {
      this.#touch(m.key, "value" in m ? m.value : undefined);
      this.mutations.push((op) => op.mutate(m));
    }
    return this;
  }
  set(key: Deno.KvKey, value: unknown, options?: { expireIn?: number }): this {
    this.#touch(key, value);
    this.mutations.push((op) => op.set(key, value, options));
    return this;
  }
  delete(key: Deno.KvKey): this {
    this.#touch(key);
    this.mutations.push((op) => op.delete(key));
    return this;
  }
  sum(key: Deno.KvKey, n: bigint): this {
    this.#touch(key);
    this.mutations.push((op) => op.sum(key, n));
    return this;
  }
  min(key: Deno.KvKey, n: bigint): this {
    this.#touch(key);
    this.mutations.push((op) => op.min(key, n));
    return this;
  }
  max(key: Deno.KvKey, n: bigint): this {
    this.#touch(key);
    this.mutations.push((op) => op.max(key, n));
    return this;
  }
  enqueue(value: unknown, options?: Parameters<Deno.AtomicOperation["enqueue"]>[1]): this {
    this.bytes += sizeOf(value);
    this.mutations.push((op) => op.enqueue(value, options));
    return this;
  }
  commit(): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
    return this.submit(this);
  }
}

/**
 * Makes `kv.atomic()` group-committed (see the module comment); returns `kv` and its stats.
 * Reads, `set`/`delete` outside atomic operations and queues are unchanged.
 */
export function groupCommits(kv: Deno.Kv): Deno.Kv {
  const atomic = kv.atomic.bind(kv);
  const stats: GroupCommitStats = { operations: 0, commits: 0, splitBatches: 0 };
  STATS.set(kv, stats);
  const queue: Pending[] = [];
  let draining = false;
  /** Operations in `queue` a request waits for (not deferred). */
  let urgent = 0;
  let deferredTimer: ReturnType<typeof setTimeout> | undefined;
  const commitBatch = batchCommitter(atomic, stats);

  /** Commits batches while the queue holds an urgent operation (or once, when `force`d). */
  async function drain(force = false) {
    clearTimeout(deferredTimer);
    deferredTimer = undefined;
    draining = true;
    try {
      while (queue.length > 0) {
        if (urgent === 0 && !force) {
          deferredTimer = setTimeout(() => drain(true), DEFERRED_COMMIT_MS);
          break;
        }
        force = false;
        const batch = takeBatch(queue);
        urgent -= batch.filter((pending) => !pending.deferred).length;
        await commitBatch(batch);
      }
    } finally {
      draining = false;
    }
  }

  kv.atomic = () =>
    new RecordingAtomic((recorded) => {
      stats.operations++;
      const { promise, resolve, reject } = Promise.withResolvers<
        Deno.KvCommitResult | Deno.KvCommitError
      >();
      queue.push({
        checks: recorded.checks,
        mutations: recorded.mutations,
        keys: recorded.keys,
        bytes: recorded.bytes,
        keyBytes: recorded.keyBytes,
        deferred: recorded.deferred,
        resolve,
        reject,
      });
      if (!recorded.deferred) urgent++;
      if (!draining && (!recorded.deferred || deferredTimer === undefined)) drain();
      return promise;
    }) as unknown as Deno.AtomicOperation;
  return kv;
}

/** Commits a batch as one atomic operation; on a failed check, each operation alone. */
function batchCommitter(atomic: () => Deno.AtomicOperation, stats: GroupCommitStats) {
  const build = (ops: Pending[]) => {
    const op = atomic();
    for (const pending of ops) {
      if (pending.checks.length > 0) op.check(...pending.checks);
      for (const mutation of pending.mutations) mutation(op);
    }
    return op;
  };

  async function commitAlone(pending: Pending) {
    stats.commits++;
    try {
      pending.resolve(await build([pending]).commit());
    } catch (error) {
      pending.reject(error);
    }
  }

  return async function commitBatch(batch: Pending[]) {
    if (batch.length === 1) return await commitAlone(batch[0]);
    stats.commits++;
    let result: Deno.KvCommitResult | Deno.KvCommitError | undefined;
    try {
      result = await build(batch).commit();
    } catch {
      result = undefined; // e.g. a limit the estimate missed: each alone says what it is
    }
    if (result?.ok) {
      for (const pending of batch) pending.resolve(result);
      return;
    }
    // Some operation's check failed (or the batch could not commit): each gets its own answer.
    stats.splitBatches++;
    for (const pending of batch) await commitAlone(pending);
  };
}

/**
 * Marks `op` as one no request waits for: with group commit, it rides in the next commit of an
 * operation that is not deferred, or commits within {@link DEFERRED_COMMIT_MS}. Elsewhere (a
 * remote KV) it changes nothing. Returns `op`.
 */
export function deferCommit<T extends Deno.AtomicOperation>(op: T): T {
  if (op instanceof RecordingAtomic) op.deferred = true;
  return op;
}

const STATS = new WeakMap<Deno.Kv, GroupCommitStats>();

/** The group-commit counters of `kv`, if its commits are grouped. */
export function groupCommitStats(kv: Deno.Kv): GroupCommitStats | undefined {
  return STATS.get(kv);
}

/** Takes the next batch off `queue`: its first operation, then every later one that fits. */
function takeBatch(queue: Pending[]): Pending[] {
  const batch = [queue.shift()!];
  const keys = new Set(batch[0].keys);
  // Keys of operations left waiting: a later operation on them must not overtake them.
  const waiting = new Set<string>();
  let checks = batch[0].checks.length;
  let mutations = batch[0].mutations.length;
  let bytes = batch[0].bytes;
  let keyBytes = batch[0].keyBytes;
  for (let i = 0; i < queue.length && batch.length < MAX_BATCH;) {
    const next = queue[i];
    const fits = checks + next.checks.length <= MAX_CHECKS &&
      mutations + next.mutations.length <= MAX_MUTATIONS &&
      bytes + next.bytes <= MAX_BYTES && keyBytes + next.keyBytes <= MAX_KEY_BYTES &&
      [...next.keys].every((k) => !keys.has(k) && !waiting.has(k));
    if (!fits) {
      for (const k of next.keys) waiting.add(k);
      i++;
      continue;
    }
    queue.splice(i, 1);
    batch.push(next);
    for (const k of next.keys) keys.add(k);
    checks += next.checks.length;
    mutations += next.mutations.length;
    bytes += next.bytes;
    keyBytes += next.keyBytes;
  }
  return batch;
}
