/**
 * The rules that decline a refund, capture or void without asking the processor: unknown
 * transaction, wrong state, mismatched ids, amounts over the balance.
 * @module
 */

import type { Decline } from "../processor/mod.ts";
import { reason } from "../wix/mod.ts";
import type { RefundTransactionRequest } from "../wix/mod.ts";
import type { TransactionRecord } from "./records.ts";

/** Why a refund of `amount` exceeds what is left to refund, if it does. */
export function balanceRefusal(tx: TransactionRecord, amount: number): Decline | undefined {
  const remaining = tx.capturedAmount - tx.refundedAmount;
  const refundable = remaining - tx.reservedRefundAmount;
  if (remaining <= 0) {
    return reason("PAYMENT_ALREADY_REFUNDED", "the payment is already fully refunded");
  }
  if (amount > refundable) {
    return reason(
      "REFUND_NOT_ALLOWED",
      `refund of ${amount} exceeds the refundable balance of ${refundable}`,
      "REFUND_EXCEEDS_BALANCE",
    );
  }
  return undefined;
}

/** Why a Wix refund must be declined without asking the processor, if it must. */
export function refundRefusal(
  tx: TransactionRecord | null,
  request: RefundTransactionRequest,
): Decline | undefined {
  if (!tx) {
    return reason(
      "REFUND_NOT_ALLOWED",
      `transaction ${request.wixTransactionId} is unknown`,
      "TRANSACTION_NOT_FOUND",
    );
  }
  if (
    request.pluginTransactionId && tx.pluginTransactionId &&
    request.pluginTransactionId !== tx.pluginTransactionId
  ) {
    return reason(
      "REFUND_NOT_ALLOWED",
      "pluginTransactionId does not match the transaction",
      "TRANSACTION_MISMATCH",
    );
  }
  if (tx.status !== "approved" && tx.status !== "captured") {
    return reason(
      "REFUND_NOT_ALLOWED",
      `the transaction is ${tx.status}; only approved or captured payments can be refunded`,
      "TRANSACTION_NOT_REFUNDABLE",
    );
  }
  return balanceRefusal(tx, request.refundAmount);
}

/** Why a capture or void would repeat or contradict what the transaction already is. */
function authorizationStateRefusal(
  kind: "capture" | "void",
  tx: TransactionRecord,
): Decline | undefined {
  if (tx.capture?.status === "succeeded") {
    return reason(
      "TRANSACTION_ACTION_ALREADY_COMMITTED",
      "the transaction was already captured",
      "TRANSACTION_ALREADY_CAPTURED",
    );
  }
  if (tx.void?.status === "succeeded") {
    return reason(
      "TRANSACTION_ACTION_ALREADY_COMMITTED",
      "the transaction was already voided",
      "TRANSACTION_ALREADY_VOIDED",
    );
  }
  if (tx.status !== "authorized") {
    const verb = kind === "capture" ? "captured" : "voided";
    return reason(
      "REQUEST_NOT_ALLOWED",
      `the transaction is ${tx.status}; only a transaction authorized with authorizeOnly can be ${verb}`,
      "TRANSACTION_NOT_AUTHORIZED",
    );
  }
  return undefined;
}

/** Why a capture or void must be declined without asking the processor, if it must. */
export function authorizationRefusal(
  kind: "capture" | "void",
  tx: TransactionRecord,
  pluginTransactionId: string | undefined,
  amount: number,
): Decline | undefined {
  const stateRefusal = authorizationStateRefusal(kind, tx);
  if (stateRefusal) return stateRefusal;
  if (
    pluginTransactionId && tx.pluginTransactionId && pluginTransactionId !== tx.pluginTransactionId
  ) {
    return reason(
      "INVALID_VALUE",
      "pluginTransactionId does not match the transaction",
      "TRANSACTION_MISMATCH",
    );
  }
  const authorized = authorizedAmountOf(tx);
  if (kind === "capture" && amount > authorized) {
    return reason(
      "INVALID_AMOUNT",
      `captureAmount ${amount} exceeds the authorized amount ${authorized}`,
    );
  }
  if (kind === "void" && amount !== authorized) {
    return reason(
      "INVALID_AMOUNT",
      `voidAmount ${amount} must equal the authorized amount ${authorized}`,
    );
  }
  return undefined;
}

/** What the processor authorized: less than the amount after a partial authorization. */
export function authorizedAmountOf(tx: TransactionRecord): number {
  return tx.authorizedAmount ?? tx.amount;
}

/** The decline part of a processor's answer, without its `kind`. */
export function declineOf(outcome: Decline): Decline {
  return {
    reasonCode: outcome.reasonCode,
    errorCode: outcome.errorCode,
    errorMessage: outcome.errorMessage,
  };
}
