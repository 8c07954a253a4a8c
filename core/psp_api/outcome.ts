/**
 * The PSP-side API's translation of back-office reports into the service's own terms.
 * @module
 */

import type { AppliedOutcome } from "../payments/mod.ts";
import { ReasonCode, reasonInfo } from "../wix/mod.ts";
import type { PspOutcomeRequest } from "./schemas.ts";

/** The outcome a PSP report stands for; an omitted reason code takes the status's usual one. */
export function appliedOutcomeOf(request: PspOutcomeRequest): AppliedOutcome {
  const decline = (code: number) => ({
    kind: "declined" as const,
    reasonCode: code,
    errorCode: request.errorCode ?? reasonInfo(code)?.errorCode,
    errorMessage: request.errorMessage ?? reasonInfo(code)?.message,
  });
  switch (request.status) {
    case "approved":
      return {
        kind: "approved",
        cardDetails: request.cardDetails,
        credentialsOnFile: request.credentialsOnFile,
      };
    case "pending":
      return { kind: "pending", reasonCode: request.reasonCode ?? ReasonCode.PENDING_FRAUD_REVIEW };
    case "canceled":
      return decline(ReasonCode.BUYER_CANCELED);
    case "declined":
      return decline(request.reasonCode ?? ReasonCode.GENERAL_BANK_DECLINE);
  }
}
