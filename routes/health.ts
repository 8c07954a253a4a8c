/** `GET /healthz` (the process is up) and `GET /readyz` (KV answers; delivery state). */

import type { AppDeps } from "./deps.ts";
import { errorResponse, jsonResponse } from "../core/http/mod.ts";
import type { Route } from "../core/http/mod.ts";
import { VERSION } from "../core/common/mod.ts";
import { probeKv } from "../core/store/mod.ts";

export const healthzRoute: Route<AppDeps> = {
  name: "healthz",
  method: "GET",
  path: "/healthz",
  gate: "public",
  handle: () => Promise.resolve(jsonResponse({ status: "ok", version: VERSION })),
};

const READY_TIMEOUT_MS = 2000;

export const readyzRoute: Route<AppDeps> = {
  name: "readyz",
  method: "GET",
  path: "/readyz",
  gate: "public",
  async handle(_ctx, deps) {
    try {
      await probeKv(deps.kv, READY_TIMEOUT_MS);
    } catch (error) {
      return errorResponse(503, "kv_unavailable", `KV did not answer: ${(error as Error).message}`);
    }
    return jsonResponse({
      status: "ready",
      webhookDelivery: deps.delivery.enabled ? deps.delivery.mode : "disabled",
    });
  },
};
