/**
 * The JSON Wix receives, built from stored records: SPI response bodies (spec §2) and Submit
 * Event bodies (§3.3). A final event is the response body plus the Wix ids (§3.4), so both are
 * derived from the same record and cannot disagree. Amounts in events are strings.
 * @module
 */

import type { Decline } from "../processor/mod.ts";
import type { SubmitEventBody } from "../delivery/mod.ts";
import type { OperationRecord, RefundRecord, TransactionRecord } from "./records.ts";
import { wasApproved } from "./state_machine.ts";
import { isPendingCode, reasonInfo } from "../wix/mod.ts";

/**
 * `{reasonCode, errorCode, errorMessage}` within the schema's length limits, or `{}`. A decline
 * always carries both texts (Wix shows them to the merchant): a processor's own, or else the
 * code's conventional ones. A pending code carries only what the processor gave.
 */
export function declineBody(decline: Decline | undefined): Record<string, unknown> {
  if (!decline) return {};
  const out: Record<string, unknown> = { reasonCode: decline.reasonCode };
  const known = isPendingCode(decline.reasonCode) ? undefined : reasonInfo(decline.reasonCode);
  const errorCode = decline.errorCode || known?.errorCode;
  const errorMessage = decline.errorMessage || known?.message;
  if (errorCode) out.errorCode = errorCode.slice(0, 50);
  if (errorMessage) out.errorMessage = errorMessage.slice(0, 300);
  return out;
}

/** The Create Transaction response for a transaction's current state (§2.2, §7.2). */
export function transactionResponse(tx: TransactionRecord): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (tx.pluginTransactionId !== undefined) body.pluginTransactionId = tx.pluginTransactionId;
  switch (tx.status) {
    case "awaiting_buyer":
      body.redirectUrl = tx.redirectUrl;
      break;
    case "pending":
    case "declined":
    case "canceled":
      Object.assign(body, declineBody(tx.reason));
      break;
    case "authorized":
    case "approved":
    case "captured":
    case "voided":
      if (tx.credentialsOnFile) body.credentialsOnFile = tx.credentialsOnFile;
      if (tx.reportedCard) body.cardDetails = tx.reportedCard;
      break;
    case "processing":
      throw new Error("a transaction still processing has no response yet");
  }
  return body;
}

/**
 * The transaction event for a transaction's current (pending or final) state; after a partial
 * authorization it carries `authorizedAmount`, a string like every amount in events (§3.3).
 */
export function transactionEvent(tx: TransactionRecord): SubmitEventBody {
  const { redirectUrl: _redirect, ...body } = transactionResponse(tx);
  if (tx.authorizedAmount !== undefined && wasApproved(tx.status)) {
    body.authorizedAmount = String(tx.authorizedAmount);
  }
  return { event: { transaction: { wixTransactionId: tx.wixTransactionId, ...body } } };
}

/** The Refund Transaction response for a settled refund (§2.3). */
export function refundResponse(refund: RefundRecord): Record<string, unknown> {
  return { pluginRefundId: refund.pluginRefundId, ...declineBody(refund.decline) };
}

/** The refund event; `wixRefundId` only for refunds Wix initiated (§3.4). */
export function refundEvent(refund: RefundRecord): SubmitEventBody {
  const body: Record<string, unknown> = {
    wixTransactionId: refund.wixTransactionId,
    pluginRefundId: refund.pluginRefundId,
    amount: String(refund.amount),
  };
  if (refund.wixRefundId !== undefined) body.wixRefundId = refund.wixRefundId;
  return { event: { refund: { ...body, ...declineBody(refund.decline) } } };
}

/** The Capture or Void response for a settled operation: `{}` or a decline (§2.4, §2.5). */
export function operationResponse(operation: OperationRecord): Record<string, unknown> {
  return declineBody(operation.decline);
}

/** The capture or void event for a settled operation. */
export function operationEvent(
  kind: "capture" | "void",
  tx: TransactionRecord,
  operation: OperationRecord,
): SubmitEventBody {
  return {
    event: {
      [kind]: {
        wixTransactionId: tx.wixTransactionId,
        amount: String(operation.amount),
        ...declineBody(operation.decline),
      },
    },
  };
}
