/** `POST /psp/v1/webhooks/{id}/redeliver`: sends a dead-lettered webhook again, with a fresh schedule. */

import type { AppDeps } from "./deps.ts";
import { errorResponse, jsonResponse } from "../core/http/mod.ts";
import { pathParam } from "../core/http/mod.ts";
import type { Route } from "../core/http/mod.ts";
import { webhookView } from "../core/psp_api/mod.ts";

export const pspRedeliverWebhookRoute: Route<AppDeps> = {
  name: "psp-redeliver-webhook",
  method: "POST",
  path: "/psp/v1/webhooks/:id/redeliver",
  gate: "psp",
  async handle(ctx, deps) {
    const result = await deps.delivery.redeliver(pathParam(ctx.params, "id", "write"));
    if (!result.ok) return errorResponse(result.status, result.code, result.message);
    ctx.annotate({ wixTransactionId: result.record.wixTransactionId });
    return jsonResponse({ webhook: webhookView(result.record) }, 202);
  },
};
