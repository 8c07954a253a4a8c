/**
 * `POST /psp/v1/transactions/{wixTransactionId}/refunds`: a refund made in the PSP's back office.
 * Idempotent on `pluginRefundId` (generated when absent and returned); owes a refund webhook
 * without `wixRefundId`.
 */

import type { AppDeps } from "./deps.ts";
import { errorResponse, jsonResponse } from "../core/http/mod.ts";
import { pathParam } from "../core/http/mod.ts";
import type { Route } from "../core/http/mod.ts";
import { parsePspRequest, pspRefundRequest } from "../core/psp_api/mod.ts";
import { refundView } from "../core/psp_api/mod.ts";

export const pspRefundsRoute: Route<AppDeps> = {
  name: "psp-refunds",
  method: "POST",
  path: "/psp/v1/transactions/:wixTransactionId/refunds",
  gate: "psp",
  async handle(ctx, deps) {
    const id = pathParam(ctx.params, "wixTransactionId", "write");
    ctx.annotate({ wixTransactionId: id });
    const request = parsePspRequest(pspRefundRequest, ctx.body);
    const result = await deps.payments.recordPspRefund(id, request.amount, request.pluginRefundId);
    switch (result.kind) {
      case "not_found":
        return errorResponse(404, "not_found", `no transaction ${id}`);
      case "conflict":
        return errorResponse(409, "idempotency_conflict", result.message);
      case "refused":
        return errorResponse(409, "not_refundable", result.message);
      case "created":
        return jsonResponse({ created: true, refund: refundView(result.refund) }, 201);
      case "existing":
        return jsonResponse({ created: false, refund: refundView(result.refund) });
    }
  },
};
