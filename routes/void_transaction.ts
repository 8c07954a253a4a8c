/** `POST /v1/void-transaction`: void an `authorizeOnly` payment (spec §2.5). */

import { voidTransactionRequest } from "../core/wix/mod.ts";
import { spiRoute } from "./spi_route.ts";

export const voidTransactionRoute = spiRoute(
  "void-transaction",
  "/v1/void-transaction",
  voidTransactionRequest,
  (request, deps) => deps.payments.voidTransaction(request),
);
