/**
 * The built-in `sandbox` processor, as a plugin (`plugin.ts`): deterministic test cards and
 * methods (`rules.ts`), the decision per method (`decide.ts`), a ledger in its own store that
 * honours the processor idempotency contract (`ledger.ts`, keys in `keys.ts`), later outcomes it
 * schedules and reports through the outcome port, and the checkout page its redirect payments
 * send buyers to (`routes.ts`). May import `common`, `wix`, `processor` and `store`; it reaches
 * the service only through its `ProcessorContext`.
 * @module
 */

export * from "./checkout_page.ts";
export * from "./keys.ts";
export * from "./plugin.ts";
export * from "./processor.ts";
export * from "./rules.ts";
export type { SandboxCheckout, SandboxStoredCredential } from "./ledger.ts";
