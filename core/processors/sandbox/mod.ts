/**
 * The built-in `sandbox` processor: deterministic test cards and methods, a ledger in KV that
 * honours the processor idempotency contract, scheduled pending outcomes, and the checkout page
 * its redirect payments send buyers to. May import `common`, `wix`, `processor`, `store` and
 * `payments` (to schedule outcome jobs and apply the buyer's choice).
 * @module
 */

export * from "./checkout_page.ts";
export * from "./processor.ts";
