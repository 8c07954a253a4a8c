/**
 * The PSP-side API's translation of back-office reports into the service's own terms.
 * @module
 */

import { HttpError } from "../http/responses.ts";
import type { AppliedOutcome } from "../payments/payments.ts";
import { ReasonCode, reasonInfo } from "../wix/reason_codes.ts";
import type { PspOutcomeRequest } from "../wix/schemas.ts";

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
      return { kind: "approved" };
    case "pending":
      return { kind: "pending", reasonCode: request.reasonCode ?? ReasonCode.PENDING_FRAUD_REVIEW };
    case "canceled":
      return decline(ReasonCode.BUYER_CANCELED);
    case "declined":
      return decline(request.reasonCode ?? ReasonCode.GENERAL_BANK_DECLINE);
  }
}

/** Decodes a path parameter, answering 400 when it is not valid percent-encoding. */
export function pathParam(params: Record<string, string>, name: string): string {
  try {
    return decodeURIComponent(params[name]);
  } catch {
    throw new HttpError(
      400,
      "invalid_request",
      `the ${name} in the path is not valid percent-encoding`,
    );
  }
}
