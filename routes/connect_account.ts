/** `POST /v1/connect-account`: a merchant connects the PSP in the Wix dashboard (spec §2.1). */

import { connectAccountRequest } from "../core/wix/mod.ts";
import { spiRoute } from "./spi_route.ts";

export const connectAccountRoute = spiRoute(
  "connect-account",
  "/v1/connect-account",
  connectAccountRequest,
  (request, deps) => deps.payments.connectAccount(request),
);
