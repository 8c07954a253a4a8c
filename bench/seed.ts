/**
 * A store that has run for a while: `count` earlier payments written straight through the store
 * layer (records, the console's indexes, their delivered webhooks), one in four with a partial
 * refund and its delivered webhook, spread over the `days` before `now` among `merchants`.
 * Many payments go in each atomic write, so 200,000 take seconds, not the hours the SPI would.
 * @module
 */

import { kvKeys } from "../core/store/mod.ts";
import {
  indexEarlierTransactions,
  indexTransaction,
  refundEvent,
  transactionEvent,
} from "../core/payments/mod.ts";
import type { RefundRecord, TransactionRecord } from "../core/payments/mod.ts";
import { newWebhookId } from "../core/delivery/mod.ts";
import type { SubmitEventBody, WebhookKind, WebhookRecord } from "../core/delivery/mod.ts";

/** What was seeded, for the report. */
export interface Seeded {
  payments: number;
  refunds: number;
  webhooks: number;
  seconds: number;
}

const PER_WRITE = 40;

/** A delivered webhook record and its per-transaction index, owed at `at`. */
function deliveredWebhook(
  op: Deno.AtomicOperation,
  tx: TransactionRecord,
  kind: WebhookKind,
  body: SubmitEventBody,
  at: number,
): void {
  tx.webhookSeq += 1;
  const record: WebhookRecord = {
    id: newWebhookId(at),
    wixTransactionId: tx.wixTransactionId,
    seq: tx.webhookSeq,
    kind,
    phase: "final",
    body,
    state: "delivered",
    attemptCount: 1,
    attempts: [{ at: at + 5, durationMs: 4, status: 200 }],
    nextAttemptAt: at,
    createdAt: at,
    deliveredAt: at + 9,
  };
  op.set(kvKeys.webhook(record.id), record)
    .set(kvKeys.transactionWebhook(tx.wixTransactionId, record.seq), record.id);
}

/** The `i`-th seeded payment (approved, a card payment), created at `at`. */
function seededPayment(run: string, i: number, at: number, merchants: number): TransactionRecord {
  const wixTransactionId = `seed-${run}-${i}`;
  return {
    wixTransactionId,
    pluginTransactionId: `sbx_seed_${run}_${i}`,
    wixMerchantId: `seed-merchant-${i % merchants}`,
    status: "approved",
    fingerprint: `seed-${i}`,
    amount: 1000 + (i % 50) * 100,
    currency: "USD",
    authorizeOnly: false,
    paymentMethod: "creditCard",
    card: { bin: "411111", lastFour: "1111" },
    capturedAmount: 1000 + (i % 50) * 100,
    refundedAmount: 0,
    reservedRefundAmount: 0,
    webhookSeq: 0,
    history: [
      { status: "processing", at, source: "wix" },
      { status: "approved", at, source: "processor" },
    ],
    createdAt: at,
    updatedAt: at,
  };
}

/** Adds payment `i` (and every fourth one's refund) with their webhooks to `op`. */
function addPayment(op: Deno.AtomicOperation, tx: TransactionRecord, i: number): number {
  deliveredWebhook(op, tx, "transaction", transactionEvent(tx), tx.createdAt);
  let refunds = 0;
  if (i % 4 === 0) {
    const at = tx.createdAt + 3_600_000;
    const refund: RefundRecord = {
      pluginRefundId: `rf_seed_${tx.wixTransactionId}`,
      wixRefundId: `wr_${tx.wixTransactionId}`,
      wixTransactionId: tx.wixTransactionId,
      amount: 500,
      initiator: "wix",
      status: "succeeded",
      createdAt: at,
      updatedAt: at,
    };
    tx.refundedAmount = refund.amount; // a partial refund: the status stays approved
    tx.updatedAt = at;
    op.set(kvKeys.refund(refund.pluginRefundId), refund)
      .set(kvKeys.refundByWixId(refund.wixRefundId!), refund.pluginRefundId)
      .set(kvKeys.transactionRefund(tx.wixTransactionId, refund.pluginRefundId), null);
    deliveredWebhook(op, tx, "refund", refundEvent(refund), at);
    refunds = 1;
  }
  op.set(kvKeys.transaction(tx.wixTransactionId), tx);
  indexTransaction(op, tx);
  return refunds;
}

/** Writes `count` earlier payments into the store at `kvPath` (no server may hold it). */
export async function seedPayments(
  kvPath: string,
  count: number,
  options: { now?: number; days?: number; merchants?: number } = {},
): Promise<Seeded> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const span = (options.days ?? 60) * 86_400_000;
  const merchants = options.merchants ?? 500;
  const run = crypto.randomUUID().slice(0, 6);
  const kv = await Deno.openKv(kvPath);
  let refunds = 0;
  try {
    // As the service's first start does: the store is marked as indexed, so that the service
    // does not index these payments again when it starts on them.
    await indexEarlierTransactions(kv);
    for (let from = 0; from < count; from += PER_WRITE) {
      const op = kv.atomic();
      for (let i = from; i < Math.min(count, from + PER_WRITE); i++) {
        // Oldest first, all at least a day old: the service's own payments stay the newest.
        const at = now - 86_400_000 - Math.floor(span * (1 - i / count));
        refunds += addPayment(op, seededPayment(run, i, at, merchants), i);
      }
      const result = await op.commit();
      if (!result.ok) throw new Error("a seeding write was refused");
    }
  } finally {
    kv.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { payments: count, refunds, webhooks: count + refunds, seconds };
}
