/**
 * A part of the database with its own key prefix, for a processor plugin: every key it reads,
 * writes, lists or checks is under the prefix, so it cannot touch the service's records.
 * @module
 */

/** An entry as the scope sees it: its key without the prefix. */
export type ScopedEntry<T> = Deno.KvEntryMaybe<T>;

/** An atomic operation within a scope. */
export interface ScopedAtomic {
  check(...entries: { key: Deno.KvKey; versionstamp: string | null }[]): ScopedAtomic;
  set(key: Deno.KvKey, value: unknown): ScopedAtomic;
  delete(key: Deno.KvKey): ScopedAtomic;
  sum(key: Deno.KvKey, n: bigint): ScopedAtomic;
  commit(): Promise<Deno.KvCommitResult | Deno.KvCommitError>;
}

/** The KV operations a plugin may use, all under one prefix. */
export interface ScopedKv {
  readonly prefix: Deno.KvKey;
  get<T>(key: Deno.KvKey): Promise<ScopedEntry<T>>;
  set(key: Deno.KvKey, value: unknown): Promise<Deno.KvCommitResult>;
  delete(key: Deno.KvKey): Promise<void>;
  /** Entries under `prefix` (within the scope), up to `end` if given, in key order. */
  list<T>(
    selector: { prefix: Deno.KvKey; end?: Deno.KvKey },
    limit?: number,
  ): AsyncIterable<ScopedEntry<T>>;
  atomic(): ScopedAtomic;
}

/** The part of `kv` under `prefix`. */
export function scopedKv(kv: Deno.Kv, prefix: Deno.KvKey): ScopedKv {
  const full = (key: Deno.KvKey): Deno.KvKey => [...prefix, ...key];
  const local = <T>(entry: Deno.KvEntryMaybe<T>): ScopedEntry<T> =>
    ({ ...entry, key: entry.key.slice(prefix.length) }) as ScopedEntry<T>;
  function atomic(): ScopedAtomic {
    const op = kv.atomic();
    const scoped: ScopedAtomic = {
      check(...entries) {
        op.check(...entries.map((e) => ({ key: full(e.key), versionstamp: e.versionstamp })));
        return scoped;
      },
      set: (key, value) => (op.set(full(key), value), scoped),
      delete: (key) => (op.delete(full(key)), scoped),
      sum: (key, n) => (op.sum(full(key), n), scoped),
      commit: () => op.commit(),
    };
    return scoped;
  }
  return {
    prefix,
    get: async (key) => local(await kv.get(full(key))),
    set: (key, value) => kv.set(full(key), value),
    delete: (key) => kv.delete(full(key)),
    async *list<T>(selector: { prefix: Deno.KvKey; end?: Deno.KvKey }, limit?: number) {
      const range = selector.end
        ? { prefix: full(selector.prefix), end: full(selector.end) }
        : { prefix: full(selector.prefix) };
      for await (const entry of kv.list<T>(range, { limit })) yield local(entry);
    },
    atomic,
  };
}
