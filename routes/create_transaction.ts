/** `POST /v1/create-transaction`: a buyer pays (spec §2.2); idempotent on `wixTransactionId`. */

import { createTransactionRequest } from "../core/wix/mod.ts";
import { spiRoute } from "./spi_route.ts";

export const createTransactionRoute = spiRoute(
  "create-transaction",
  "/v1/create-transaction",
  createTransactionRequest,
  (request, deps) => deps.payments.createTransaction(request),
);
