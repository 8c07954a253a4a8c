/**
 * What a processor's answers must satisfy. The service checks every answer with these before
 * trusting it; an answer that breaks the contract is treated like a failed call (the claim is
 * released and Wix retries), never guessed at.
 * @module
 */

import { isPaymentDeclineCode, isPendingCode } from "../wix/mod.ts";
import type { ConnectOutcome, OperationOutcome, PaymentOutcome } from "./types.ts";

/**
 * Why a Create Transaction outcome breaks the contract, if it does; `amount` is what was asked
 * (a partial authorization must approve less, and at least 1).
 */
export function paymentOutcomeProblem(
  outcome: PaymentOutcome,
  amount?: number,
): string | undefined {
  const id = outcome.pluginTransactionId;
  if (id !== undefined && (typeof id !== "string" || id.length === 0 || id.length > 200)) {
    return "pluginTransactionId must be a string of 1 to 200 characters";
  }
  if (outcome.kind !== "declined" && id === undefined) {
    return `a ${outcome.kind} outcome needs a pluginTransactionId`;
  }
  if (outcome.kind === "declined" && !isPaymentDeclineCode(outcome.reasonCode)) {
    return `reasonCode ${outcome.reasonCode} is not a payment decline code`;
  }
  if (outcome.kind === "pending" && !isPendingCode(outcome.reasonCode)) {
    return `reasonCode ${outcome.reasonCode} is not a pending code (5005, 5009)`;
  }
  if (outcome.kind === "redirect" && !/^https?:\/\//.test(outcome.redirectUrl)) {
    return "redirectUrl must be an absolute http(s) URL";
  }
  if (outcome.kind === "approved") return approvalProblem(outcome, amount);
  return undefined;
}

/** Why an approval's partial amount or stored credential breaks the contract, if it does. */
function approvalProblem(
  outcome: Extract<PaymentOutcome, { kind: "approved" }>,
  amount: number | undefined,
): string | undefined {
  const partial = outcome.authorizedAmount;
  if (
    partial !== undefined &&
    (!Number.isSafeInteger(partial) || partial < 1 || (amount !== undefined && partial >= amount))
  ) {
    return "authorizedAmount (a partial authorization) must be a whole number from 1 to below " +
      "the amount asked";
  }
  const stored = outcome.credentialsOnFile;
  const link = stored && "cardReference" in stored
    ? stored.cardReference.transactionLinkId
    : undefined;
  if (link !== undefined && (typeof link !== "string" || link.length < 1 || link.length > 22)) {
    return "credentialsOnFile.cardReference.transactionLinkId must be 1 to 22 characters";
  }
  const method = stored?.paymentMethod;
  if (
    method !== undefined && (typeof method !== "string" || method.length < 1 || method.length > 100)
  ) {
    return "credentialsOnFile.paymentMethod must be 1 to 100 characters";
  }
  return undefined;
}

/** A check of refund, capture or void outcomes whose declines must pass `allowedCode`. */
export function operationOutcomeProblem(
  allowedCode: (code: number) => boolean,
): (outcome: OperationOutcome) => string | undefined {
  return (outcome) =>
    outcome.kind === "declined" && !allowedCode(outcome.reasonCode)
      ? `reasonCode ${outcome.reasonCode} is not allowed here`
      : undefined;
}

/** Why a Connect Account outcome breaks the contract, if it does. */
export function connectOutcomeProblem(outcome: ConnectOutcome): string | undefined {
  if (outcome.kind === "declined") return undefined;
  if (!outcome.accountId || typeof outcome.accountId !== "string") return "accountId is required";
  for (const value of Object.values(outcome.credentials ?? {})) {
    if (typeof value !== "string") return "credentials values must be strings";
  }
  return undefined;
}
