/**
 * `POST /psp/v1/webhooks/redeliver` with `{"since": "<ISO time>"}`: after restoring a backup,
 * owes again the latest webhook of every transaction and refund changed since that time.
 */

import type { AppDeps } from "./deps.ts";
import { jsonResponse } from "../core/http/mod.ts";
import type { Route } from "../core/http/mod.ts";
import { parsePspRequest, pspRedeliverSinceRequest } from "../core/psp_api/mod.ts";

export const pspRedeliverSinceRoute: Route<AppDeps> = {
  name: "psp-redeliver-since",
  method: "POST",
  path: "/psp/v1/webhooks/redeliver",
  gate: "psp",
  async handle(ctx, deps) {
    const { since } = parsePspRequest(pspRedeliverSinceRequest, ctx.body);
    const summary = await deps.payments.redeliverSince(since);
    return jsonResponse({ since: new Date(since).toISOString(), ...summary }, 202);
  },
};
