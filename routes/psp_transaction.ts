/**
 * `GET /psp/v1/transactions/{wixTransactionId}`: the transaction, its refunds, captures and
 * voids, and every webhook it owed with its delivery attempts. No card data beyond BIN and
 * last four.
 */

import type { AppDeps } from "./deps.ts";
import { errorResponse, jsonResponse } from "../core/http/mod.ts";
import { pathParam } from "../core/http/mod.ts";
import type { Route } from "../core/http/mod.ts";
import { transactionView } from "../core/psp_api/mod.ts";

export const pspTransactionRoute: Route<AppDeps> = {
  name: "psp-transaction",
  method: "GET",
  path: "/psp/v1/transactions/:wixTransactionId",
  gate: "psp",
  async handle(ctx, deps) {
    const id = pathParam(ctx.params, "wixTransactionId", "read");
    ctx.annotate({ wixTransactionId: id });
    const view = await transactionView(deps.kv, id);
    return view ? jsonResponse(view) : errorResponse(404, "not_found", `no transaction ${id}`);
  },
};
