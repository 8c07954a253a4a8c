/**
 * The payments side of the processor boundary: a plugin reports later outcomes through the same
 * path as the PSP API's `/outcome`, and sees payments only as a {@link PaymentView}.
 * @module
 */

import type { PaymentsPort, PaymentView, ReportResult } from "../processor/mod.ts";
import type { PaymentsContext } from "./driver.ts";
import { recordPaymentOutcome } from "./outcome.ts";
import { getMerchant, getTransaction } from "./records.ts";
import type { TransactionRecord } from "./records.ts";

/** What a processor may see of `tx`. */
async function viewOf(ctx: PaymentsContext, tx: TransactionRecord): Promise<PaymentView> {
  const merchant = tx.wixMerchantId ? await getMerchant(ctx.kv, tx.wixMerchantId) : null;
  return {
    wixTransactionId: tx.wixTransactionId,
    status: tx.status,
    reasonCode: tx.reason?.reasonCode,
    amount: tx.amount,
    currency: tx.currency,
    installments: tx.installments ?? 1,
    order: { id: tx.order?.id, items: tx.order?.items ?? [] },
    returnUrls: tx.returnUrls,
    merchantName: merchant?.accountName,
  };
}

/** The {@link PaymentsPort} over `ctx`. */
export function paymentsPort(ctx: PaymentsContext): PaymentsPort {
  return {
    async reportOutcome(wixTransactionId, outcome, options = {}): Promise<ReportResult> {
      const result = await recordPaymentOutcome(
        ctx,
        wixTransactionId,
        outcome,
        options.source ?? ctx.processor.name,
        { onlyFrom: options.onlyWhileAwaitingBuyer ? ["awaiting_buyer"] : undefined },
      );
      switch (result.kind) {
        case "changed":
        case "unchanged":
          return { kind: result.kind, payment: await viewOf(ctx, result.tx) };
        case "rejected":
          return { kind: "rejected", payment: await viewOf(ctx, result.tx), reason: result.reason };
        case "busy":
          return { kind: "busy" };
        default:
          return { kind: "not_found" };
      }
    },
    async lookup(wixTransactionId) {
      const tx = await getTransaction(ctx.kv, wixTransactionId);
      return tx ? await viewOf(ctx, tx) : null;
    },
  };
}
