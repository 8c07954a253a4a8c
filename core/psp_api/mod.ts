/**
 * The PSP-side API's domain: request schemas for outcomes and refunds reported by the back
 * office, their translation into the service's terms, and the views operators see of
 * transactions, refunds and webhooks. May import `common`, `wix`, `payments` and `delivery`.
 * @module
 */

export * from "./outcome.ts";
export * from "./schemas.ts";
export * from "./views.ts";
