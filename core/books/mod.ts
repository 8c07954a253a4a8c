/**
 * The books: what keeps the record of every payment safe and accountable outside the request
 * path. Online backups of the local store (one consistent snapshot, SQLite's backup API in a
 * worker), scheduled and rotated; restoring one, never over a store in use; the store checker
 * that proves every invariant the code relies on; exports of payments and refunds for finance.
 * May import `common`, `store`, `wix`, `payments` and `delivery` (to read their records); nothing
 * imports it but routes, the CLI and the entry point.
 * @module
 */

export * from "./backup.ts";
export * from "./export.ts";
export * from "./restore.ts";
export * from "./schedule.ts";
export * from "./verify.ts";
