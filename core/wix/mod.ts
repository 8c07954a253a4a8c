/**
 * The Wix contract, as data and pure functions: request signature verification (RS256 JWT over
 * the body's SHA-256), the five SPI request schemas with their 1004/1007/1009 answers, reason
 * codes, currencies and minor units, payment method ids, and RS256 key handling and signature
 * checks (`rs256.ts`, in V8 BigInt rather than WebCrypto, several times slower here). Imports only
 * `common`; everything else may import it.
 * @module
 */

export * from "./currencies.ts";
export * from "./keys.ts";
export * from "./payment_methods.ts";
export * from "./reason_codes.ts";
export * from "./required_fields.ts";
export { rs256KeyOf, verifyRs256 } from "./rs256.ts";
export type { Rs256Key } from "./rs256.ts";
export * from "./schemas.ts";
export * from "./verify.ts";
