/**
 * Every key of the sandbox's own store, relative to the store the service gives its processor
 * plugin (`["processor", ...]` in the database).
 * @module
 */

/** The sandbox's keys, by what they hold. */
export const sandboxKeys = {
  /** The decision for a payment (its ledger entry), by `wixTransactionId`. */
  payment: (wixTransactionId: string): Deno.KvKey => ["payment", wixTransactionId],
  /**
   * How many times the sandbox was asked to pay a transaction (`Deno.KvU64`), right beside the
   * decision: a first call writes both, and they land on one page of the database.
   */
  paymentCalls: (wixTransactionId: string): Deno.KvKey => ["payment", wixTransactionId, "calls"],
  refund: (pluginRefundId: string): Deno.KvKey => ["refund", pluginRefundId],
  operation: (kind: "capture" | "void", wixTransactionId: string): Deno.KvKey => [
    kind,
    wixTransactionId,
  ],
  checkout: (checkoutId: string): Deno.KvKey => ["checkout", checkoutId],
  /** A credential stored for recurring charges, by its kind and reference. */
  storedCredential: (kind: "token" | "networkTransactionId", reference: string): Deno.KvKey => [
    "stored_credential",
    kind,
    reference,
  ],
  /** A later outcome to report at `dueAt` (a pending card's final answer). */
  due: (dueAt: number, id: string): Deno.KvKey => ["due", dueAt, id],
  duePrefix: (): Deno.KvKey => ["due"],
} as const;
