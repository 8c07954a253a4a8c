/**
 * The HTTP layer: listening (`Deno.serve`, behind the front that times request headers and
 * serves TLS), the route table's dispatcher (`URLPattern`, 404/405, one log line per request),
 * the gates and the guard against key guessing, JSON responses, and the one mapping of errors
 * to responses. Routes stay
 * thin: they parse, call one core function and shape its answer. May import every part of
 * `core/` below it (`common`, `wix`); holds no payment or delivery logic.
 * @module
 */

export * from "./errors.ts";
export * from "./gates.ts";
export * from "./responses.ts";
export * from "./router.ts";
export * from "./serve.ts";
export * from "./guess_guard.ts";
export { checkKey, requireBearer, secretMatches } from "./psp_gate.ts";
export type { KeyAttempt } from "./psp_gate.ts";
