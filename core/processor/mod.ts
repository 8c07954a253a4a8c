/**
 * The processor boundary: the {@link PaymentProcessor} interface a payment backend implements,
 * its input and outcome types, and the contract every answer must satisfy before the service
 * trusts it. May import `common` and `wix` (reason codes, method ids); never `store`,
 * `payments` or anything above.
 * @module
 */

export * from "./contract.ts";
export * from "./plugin.ts";
export * from "./kit.ts";
export * from "./types.ts";
