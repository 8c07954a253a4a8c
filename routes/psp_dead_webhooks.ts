/** `GET /psp/v1/webhooks/dead`: dead-lettered webhooks, oldest first, and the running total. */

import type { AppDeps } from "./deps.ts";
import { jsonResponse } from "../core/http/mod.ts";
import type { Route } from "../core/http/mod.ts";
import { webhookView } from "../core/psp_api/mod.ts";

export const pspDeadWebhooksRoute: Route<AppDeps> = {
  name: "psp-dead-webhooks",
  method: "GET",
  path: "/psp/v1/webhooks/dead",
  gate: "psp",
  async handle(_ctx, deps) {
    const [dead, total] = await Promise.all([
      deps.delivery.listDead(),
      deps.delivery.deadTotal(),
    ]);
    return jsonResponse({
      deadLetteredTotal: total,
      webhooks: dead.map(webhookView),
    });
  },
};
