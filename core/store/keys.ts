/**
 * Every Deno KV key the service uses, built in this one place. Each lookup a route needs is a
 * single `get` on one of these keys; the `*Prefix` keys are for listing.
 * @module
 */

/** KV keys by what they hold. */
export const kvKeys = {
  /** Read (never written) by the readiness probe. */
  readinessProbe: (): Deno.KvKey => ["readyz"],

  /** A connected merchant: `MerchantRecord`. */
  merchant: (wixMerchantId: string): Deno.KvKey => ["merchant", wixMerchantId],

  /** A transaction: `TransactionRecord`, keyed by Wix's idempotency key. */
  transaction: (wixTransactionId: string): Deno.KvKey => ["tx", wixTransactionId],

  /** A refund: `RefundRecord`, keyed by this service's `pluginRefundId`. */
  refund: (pluginRefundId: string): Deno.KvKey => ["refund", pluginRefundId],
  /** Wix's refund idempotency key -> `pluginRefundId`. */
  refundByWixId: (wixRefundId: string): Deno.KvKey => ["refund_by_wix", wixRefundId],
  /** Index of a transaction's refunds (value: `null`). */
  transactionRefund: (wixTransactionId: string, pluginRefundId: string): Deno.KvKey => [
    "tx_refund",
    wixTransactionId,
    pluginRefundId,
  ],
  transactionRefundsPrefix: (
    wixTransactionId: string,
  ): Deno.KvKey => ["tx_refund", wixTransactionId],

  /** An owed webhook: `WebhookRecord` (the outbox). */
  webhook: (id: string): Deno.KvKey => ["webhook", id],
  /** A transaction's webhooks in the order they were owed (value: webhook id). */
  transactionWebhook: (wixTransactionId: string, seq: number): Deno.KvKey => [
    "tx_webhook",
    wixTransactionId,
    seq,
  ],
  transactionWebhooksPrefix: (
    wixTransactionId: string,
  ): Deno.KvKey => ["tx_webhook", wixTransactionId],
  /** Due-time index of webhooks awaiting an attempt (value: `null`). */
  webhookDue: (dueAt: number, id: string): Deno.KvKey => ["webhook_due", dueAt, id],
  webhookDuePrefix: (): Deno.KvKey => ["webhook_due"],
  /** Dead-lettered webhooks (value: `null`). */
  webhookDead: (id: string): Deno.KvKey => ["webhook_dead", id],
  webhookDeadPrefix: (): Deno.KvKey => ["webhook_dead"],
  /** Running count of webhooks ever dead-lettered (`Deno.KvU64`). */
  webhookDeadTotal: (): Deno.KvKey => ["stats", "webhooks_dead_total"],

  /** A scheduled job (`Job`) due at `dueAt` (ms since the epoch). */
  job: (dueAt: number, id: string): Deno.KvKey => ["job", dueAt, id],
  jobPrefix: (): Deno.KvKey => ["job"],

  /** The processor plugin's own store: everything it keeps is under this prefix. */
  processorScope: (): Deno.KvKey => ["processor"],
} as const;
