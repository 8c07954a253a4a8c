/**
 * The built-in `sandbox` processor: deterministic test cards and methods (`rules.ts`), the
 * decision per method (`decide.ts`), a ledger in KV that honours the processor idempotency
 * contract (`ledger.ts`), scheduled pending outcomes, and the checkout page its redirect
 * payments send buyers to. May import `common`, `wix`, `processor`, `store` and `payments` (to
 * schedule outcome jobs and apply the buyer's choice).
 * @module
 */

export * from "./checkout_page.ts";
export * from "./processor.ts";
export * from "./rules.ts";
export type { SandboxCheckout, SandboxStoredCredential } from "./ledger.ts";
