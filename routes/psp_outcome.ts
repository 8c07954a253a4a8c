/**
 * `POST /psp/v1/transactions/{wixTransactionId}/outcome`: the PSP back office reports a later
 * outcome. Applied through the state machine; a contradiction is 409 and changes nothing.
 */

import type { AppDeps } from "./deps.ts";
import { errorResponse, jsonResponse } from "../core/http/mod.ts";
import { pathParam } from "../core/http/mod.ts";
import { appliedOutcomeOf } from "../core/psp_api/mod.ts";
import type { Route } from "../core/http/mod.ts";
import { parsePspRequest, pspOutcomeRequest } from "../core/psp_api/mod.ts";
import { transactionSummary } from "../core/psp_api/mod.ts";

export const pspOutcomeRoute: Route<AppDeps> = {
  name: "psp-outcome",
  method: "POST",
  path: "/psp/v1/transactions/:wixTransactionId/outcome",
  gate: "psp",
  async handle(ctx, deps) {
    const id = pathParam(ctx.params, "wixTransactionId", "write");
    ctx.annotate({ wixTransactionId: id });
    const request = parsePspRequest(pspOutcomeRequest, ctx.body);
    const result = await deps.payments.recordPaymentOutcome(
      id,
      appliedOutcomeOf(request),
      "psp-api",
    );
    switch (result.kind) {
      case "not_found":
        return errorResponse(404, "not_found", `no transaction ${id}`);
      case "busy":
        return errorResponse(
          409,
          "in_progress",
          "the processor has not answered the payment yet; retry shortly",
        );
      case "rejected":
        return errorResponse(409, "contradicts_current_state", result.reason);
      default:
        return jsonResponse({ result: result.kind, transaction: transactionSummary(result.tx) });
    }
  },
};
