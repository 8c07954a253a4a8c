/** The route table: one module per route, in dispatch order, and the processor plugin's. */

import type { AppDeps } from "./deps.ts";
import type { Route } from "../core/http/mod.ts";
import type { ProcessorPlugin } from "../core/processor/mod.ts";
import { captureTransactionRoute } from "./capture_transaction.ts";
import { connectAccountRoute } from "./connect_account.ts";
import { consoleRoutes } from "./console.ts";
import { createTransactionRoute } from "./create_transaction.ts";
import { healthzRoute, readyzRoute } from "./health.ts";
import { metricsRoute } from "./metrics.ts";
import { pspDeadWebhooksRoute } from "./psp_dead_webhooks.ts";
import { pspOutcomeRoute } from "./psp_outcome.ts";
import { pspRedeliverSinceRoute } from "./psp_redeliver_since.ts";
import { pspRedeliverWebhookRoute } from "./psp_redeliver_webhook.ts";
import { pspRefundsRoute } from "./psp_refunds.ts";
import { pspTransactionRoute } from "./psp_transaction.ts";
import { refundTransactionRoute } from "./refund_transaction.ts";
import { voidTransactionRoute } from "./void_transaction.ts";

/** Every route the server answers. */
export const routes: Route<AppDeps>[] = [
  healthzRoute,
  readyzRoute,
  metricsRoute,
  connectAccountRoute,
  createTransactionRoute,
  refundTransactionRoute,
  captureTransactionRoute,
  voidTransactionRoute,
  pspOutcomeRoute,
  pspRefundsRoute,
  pspTransactionRoute,
  pspDeadWebhooksRoute,
  pspRedeliverWebhookRoute,
  pspRedeliverSinceRoute,
  ...consoleRoutes,
];

/** A processor plugin's routes (public: they answer buyers and backends), served beside ours. */
export function pluginRoutes(plugin: ProcessorPlugin): Route<AppDeps>[] {
  return (plugin.routes ?? []).map((route) => ({
    name: route.name,
    method: route.method,
    path: route.path,
    gate: "public",
    handle: (ctx) =>
      route.handle({
        request: ctx.request,
        url: ctx.url,
        params: ctx.params,
        body: ctx.body,
        annotate: ctx.annotate,
      }),
  }));
}
