/**
 * What a processor's answers must satisfy. The service checks every answer with these before
 * trusting it; an answer that breaks the contract is treated like a failed call (the claim is
 * released and Wix retries), never guessed at.
 * @module
 */

import { isPaymentDeclineCode, isPendingCode } from "../wix/mod.ts";
import type { ConnectOutcome, OperationOutcome, PaymentOutcome } from "./types.ts";

/** Why a Create Transaction outcome breaks the contract, if it does. */
export function paymentOutcomeProblem(outcome: PaymentOutcome): string | undefined {
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
