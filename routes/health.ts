/**
 * `GET /healthz` (the process is up) and `GET /readyz` (the store takes writes; delivery state).
 * Readiness commits a probe write: a store that answers reads but refuses writes (a full disk,
 * a file made read-only) is not ready, and becomes ready again by itself once writes succeed.
 * A probe's result is reused for {@link PROBE_REUSE_MS}, so a load balancer probing often costs
 * one small commit a second at most.
 */

import type { AppDeps } from "./deps.ts";
import { errorResponse, jsonResponse } from "../core/http/mod.ts";
import type { Route } from "../core/http/mod.ts";
import { VERSION } from "../core/common/mod.ts";
import { probeWrite, STORE_RETRY_AFTER_SECONDS } from "../core/store/mod.ts";

export const healthzRoute: Route<AppDeps> = {
  name: "healthz",
  method: "GET",
  path: "/healthz",
  gate: "public",
  handle: () => Promise.resolve(jsonResponse({ status: "ok", version: VERSION })),
};

const READY_TIMEOUT_MS = 2000;
const PROBE_REUSE_MS = 1000;

/** The last probe of each store: when it started, and how it ended. */
const probes = new WeakMap<Deno.Kv, { at: number; result: Promise<string | undefined> }>();

/** Why `kv` does not take writes (reusing a probe under a second old), or undefined. */
function writeProblem(kv: Deno.Kv): Promise<string | undefined> {
  const last = probes.get(kv);
  if (last && Date.now() - last.at < PROBE_REUSE_MS) return last.result;
  const result = probeWrite(kv, READY_TIMEOUT_MS).then(
    () => undefined,
    (error) => (error as Error).message,
  );
  probes.set(kv, { at: Date.now(), result });
  return result;
}

export const readyzRoute: Route<AppDeps> = {
  name: "readyz",
  method: "GET",
  path: "/readyz",
  gate: "public",
  async handle(_ctx, deps) {
    const problem = await writeProblem(deps.kv);
    if (problem !== undefined) {
      return errorResponse(503, "store_unavailable", `the store does not take writes: ${problem}`, {
        "retry-after": String(STORE_RETRY_AFTER_SECONDS),
      });
    }
    return jsonResponse({
      status: "ready",
      webhookDelivery: deps.delivery.enabled ? deps.delivery.mode : "disabled",
    });
  },
};
