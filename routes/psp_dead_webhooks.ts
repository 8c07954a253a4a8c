/** `GET /psp/v1/webhooks/dead`: dead-lettered webhooks, oldest first, and the running total. */

import type { AppDeps } from "./deps.ts";
import { jsonResponse } from "../core/http/responses.ts";
import { kvKeys } from "../core/store/keys.ts";
import type { Route } from "../core/http/router.ts";
import { webhookView } from "../core/psp_api/views.ts";

export const pspDeadWebhooksRoute: Route<AppDeps> = {
  name: "psp-dead-webhooks",
  method: "GET",
  path: "/psp/v1/webhooks/dead",
  gate: "psp",
  async handle(_ctx, deps) {
    const [dead, total] = await Promise.all([
      deps.delivery.listDead(),
      deps.kv.get<Deno.KvU64>(kvKeys.webhookDeadTotal()),
    ]);
    return jsonResponse({
      deadLetteredTotal: Number(total.value?.value ?? 0n),
      webhooks: dead.map(webhookView),
    });
  },
};
