/** `POST /v1/refund-transaction`: a merchant refunds from Wix (spec §2.3); idempotent on `wixRefundId`. */

import { refundTransactionRequest } from "../core/wix/mod.ts";
import { spiRoute } from "./spi_route.ts";

export const refundTransactionRoute = spiRoute(
  "refund-transaction",
  "/v1/refund-transaction",
  refundTransactionRequest,
  (request, deps) => deps.payments.refundTransaction(request),
);
