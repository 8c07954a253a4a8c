/**
 * Deno KV access: opening a database (its atomic commits grouped, waiting out another
 * process's lock, and watched: a commit the store refuses is a retryable `store_unavailable`), every key the service uses (built in `keys.ts` only), optimistic
 * read-check-write with retries, and durable scheduled jobs. Knows nothing of what
 * the records mean; imports only `common`.
 * @module
 */

export * from "./health.ts";
export * from "./jobs.ts";
export * from "./keys.ts";
export * from "./lock.ts";
export * from "./kv.ts";
export * from "./scoped.ts";
export { deferCommit, DEFERRED_COMMIT_MS, groupCommits, groupCommitStats } from "./group_commit.ts";
export type { GroupCommitStats } from "./group_commit.ts";
