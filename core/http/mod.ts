/**
 * The HTTP layer: the route table's dispatcher (`URLPattern`, 404/405, one log line per
 * request), the gates, JSON responses, and the one mapping of errors to responses. Routes stay
 * thin: they parse, call one core function and shape its answer. May import every part of
 * `core/` below it (`common`, `wix`); holds no payment or delivery logic.
 * @module
 */

export * from "./errors.ts";
export * from "./gates.ts";
export * from "./responses.ts";
export * from "./router.ts";
export * from "./serve.ts";
export { requireBearer, secretMatches } from "./psp_gate.ts";
