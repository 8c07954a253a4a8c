/**
 * What the PSP-side API shows operators: a transaction with its refunds, captures, voids and
 * every webhook it owed with its delivery attempts. Built from stored records; internal fields
 * (claim tokens, fingerprints) are left out, times are ISO strings, and card data is at most
 * the BIN and last four the records hold.
 * @module
 */

import { listTransactionWebhooks } from "../delivery/mod.ts";
import type { WebhookRecord } from "../delivery/mod.ts";
import { getTransaction, listRefunds } from "../payments/mod.ts";
import type { OperationRecord, RefundRecord, TransactionRecord } from "../payments/mod.ts";

const iso = (ms: number | undefined) => ms === undefined ? undefined : new Date(ms).toISOString();

function operationView(operation: OperationRecord | undefined) {
  if (!operation) return undefined;
  return {
    status: operation.status,
    amount: operation.amount,
    reason: operation.decline,
    at: iso(operation.at),
  };
}

/** A transaction as operators see it. */
export function transactionSummary(tx: TransactionRecord) {
  return {
    wixTransactionId: tx.wixTransactionId,
    pluginTransactionId: tx.pluginTransactionId,
    wixMerchantId: tx.wixMerchantId,
    status: tx.status,
    reason: tx.reason,
    amount: tx.amount,
    currency: tx.currency,
    authorizeOnly: tx.authorizeOnly,
    paymentMethod: tx.paymentMethod,
    paymentType: tx.paymentType,
    installments: tx.installments ?? 1,
    card: tx.card,
    // Which kind of stored credential was reported; the reference itself stays out of views.
    credentialsOnFile: tx.credentialsOnFile && Object.keys(tx.credentialsOnFile)[0],
    capturedAmount: tx.capturedAmount,
    refundedAmount: tx.refundedAmount,
    capture: operationView(tx.capture),
    void: operationView(tx.void),
    redirectUrl: tx.redirectUrl,
    history: tx.history.map((step) => ({ ...step, at: iso(step.at) })),
    createdAt: iso(tx.createdAt),
    updatedAt: iso(tx.updatedAt),
  };
}

/** A refund as operators see it. */
export function refundView(refund: RefundRecord) {
  return {
    pluginRefundId: refund.pluginRefundId,
    wixRefundId: refund.wixRefundId,
    wixTransactionId: refund.wixTransactionId,
    amount: refund.amount,
    initiator: refund.initiator,
    status: refund.status,
    reason: refund.decline,
    createdAt: iso(refund.createdAt),
    updatedAt: iso(refund.updatedAt),
  };
}

/** An owed webhook with its delivery attempts. */
export function webhookView(record: WebhookRecord) {
  return {
    id: record.id,
    wixTransactionId: record.wixTransactionId,
    seq: record.seq,
    kind: record.kind,
    phase: record.phase,
    state: record.state,
    body: record.body,
    attemptCount: record.attemptCount,
    attempts: record.attempts.map((attempt) => ({ ...attempt, at: iso(attempt.at) })),
    nextAttemptAt: record.state === "queued" ? iso(record.nextAttemptAt) : undefined,
    createdAt: iso(record.createdAt),
    deliveredAt: iso(record.deliveredAt),
    deadAt: iso(record.deadAt),
    note: record.note,
  };
}

/** The full view of one transaction, or `null` when it is unknown. */
export async function transactionView(kv: Deno.Kv, wixTransactionId: string) {
  const tx = await getTransaction(kv, wixTransactionId);
  if (!tx) return null;
  const [refunds, webhooks] = await Promise.all([
    listRefunds(kv, wixTransactionId),
    listTransactionWebhooks(kv, wixTransactionId),
  ]);
  return {
    transaction: transactionSummary(tx),
    refunds: refunds.map(refundView),
    webhooks: webhooks.map((entry) => webhookView(entry.value)),
  };
}
