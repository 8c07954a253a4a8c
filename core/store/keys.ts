/**
 * Every Deno KV key the service uses, built in this one place. Each lookup a route needs is a
 * single `get` on one of these keys; the `*Prefix` keys are for listing.
 * @module
 */

/** KV keys by what they hold. */
export const kvKeys = {
  /** Written by the readiness probe and at start-up: the store still takes writes. */
  readinessProbe: (): Deno.KvKey => ["readyz"],

  /** A connected merchant: `MerchantRecord`. */
  merchant: (wixMerchantId: string): Deno.KvKey => ["merchant", wixMerchantId],

  /** A transaction: `TransactionRecord`, keyed by Wix's idempotency key. */
  transaction: (wixTransactionId: string): Deno.KvKey => ["tx", wixTransactionId],
  transactionPrefix: (): Deno.KvKey => ["tx"],
  /** A one-time data migration's marker, once done: the time it finished. */
  migration: (name: string): Deno.KvKey => ["migration", name],

  /** A refund: `RefundRecord`, keyed by this service's `pluginRefundId`. */
  refund: (pluginRefundId: string): Deno.KvKey => ["refund", pluginRefundId],
  refundPrefix: (): Deno.KvKey => ["refund"],
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

  /** Transactions newest-first for the console: `["tx_by_time", createdAt, id]` -> null. */
  transactionByTime: (createdAt: number, wixTransactionId: string): Deno.KvKey => [
    "tx_by_time",
    createdAt,
    wixTransactionId,
  ],
  transactionByTimePrefix: (): Deno.KvKey => ["tx_by_time"],
  /** A merchant's transactions by creation time -> null. */
  merchantTransaction: (
    wixMerchantId: string,
    createdAt: number,
    wixTransactionId: string,
  ): Deno.KvKey => ["tx_by_merchant", wixMerchantId, createdAt, wixTransactionId],
  merchantTransactionsPrefix: (wixMerchantId: string): Deno.KvKey => [
    "tx_by_merchant",
    wixMerchantId,
  ],
  /** The processor's `pluginTransactionId` -> `wixTransactionId`. */
  transactionByPluginId: (pluginTransactionId: string): Deno.KvKey => [
    "tx_by_plugin_id",
    pluginTransactionId,
  ],
  /** One answered SPI request of a transaction (the console's timeline), by time. */
  spiRequest: (wixTransactionId: string, at: number, requestId: string): Deno.KvKey => [
    "spi_request",
    wixTransactionId,
    at,
    requestId,
  ],
  spiRequestsPrefix: (wixTransactionId: string): Deno.KvKey => ["spi_request", wixTransactionId],
  /** A console session, by the SHA-256 of its cookie value (never the value itself). */
  consoleSession: (sessionHash: string): Deno.KvKey => ["console_session", sessionHash],

  /** The processor plugin's own store: everything it keeps is under this prefix. */
  processorScope: (): Deno.KvKey => ["processor"],
} as const;
