/** The route table: one module per route, in dispatch order. */

import type { AppDeps } from "../core/app.ts";
import type { Route } from "../core/router.ts";
import { captureTransactionRoute } from "./capture_transaction.ts";
import { connectAccountRoute } from "./connect_account.ts";
import { createTransactionRoute } from "./create_transaction.ts";
import { healthzRoute, readyzRoute } from "./health.ts";
import { refundTransactionRoute } from "./refund_transaction.ts";
import { voidTransactionRoute } from "./void_transaction.ts";

/** Every route the server answers. */
export const routes: Route<AppDeps>[] = [
  healthzRoute,
  readyzRoute,
  connectAccountRoute,
  createTransactionRoute,
  refundTransactionRoute,
  captureTransactionRoute,
  voidTransactionRoute,
];
