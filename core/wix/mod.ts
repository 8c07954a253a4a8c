/**
 * The Wix contract, as data and pure functions: request signature verification (RS256 JWT over
 * the body's SHA-256), the five SPI request schemas with their 1004/1007/1009 answers, reason
 * codes, currencies and minor units, payment method ids, and RS256 key handling. Imports only
 * `common`; everything else may import it.
 * @module
 */

export * from "./currencies.ts";
export * from "./keys.ts";
export * from "./payment_methods.ts";
export * from "./reason_codes.ts";
export * from "./schemas.ts";
export * from "./verify.ts";
