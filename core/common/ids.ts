/**
 * How long an id may be. Ids become parts of KV keys, and KV refuses a key over 2,048 bytes
 * (`Key too large for write`); the longest keys hold two ids (a merchant's transaction index:
 * `["tx_by_merchant", wixMerchantId, createdAt, wixTransactionId]`). 200 characters of four
 * UTF-8 bytes each make 800 bytes, so two ids with their prefix stay well inside the limit;
 * `tests/hardening_test.ts` writes ids of that worst case through every flow. Every id a request
 * carries (in a body or a path) is held to it: an id past it cannot exist, so a read answers
 * "not found" and a write "invalid", never an internal error.
 * @module
 */

/** The longest id, in characters. */
export const MAX_ID_LENGTH = 200;

/** Whether `id` could be stored: 1 to {@link MAX_ID_LENGTH} characters. */
export function isStorableId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_ID_LENGTH;
}
