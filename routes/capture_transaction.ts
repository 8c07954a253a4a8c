/** `POST /v1/capture-transaction`: capture an `authorizeOnly` payment (spec §2.4). */

import { captureTransactionRequest } from "../core/wix/mod.ts";
import { spiRoute } from "./spi_route.ts";

export const captureTransactionRoute = spiRoute(
  "capture-transaction",
  "/v1/capture-transaction",
  captureTransactionRequest,
  (request, deps) => deps.payments.captureTransaction(request),
);
