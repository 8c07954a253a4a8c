/**
 * The shape every SPI route shares: parse the verified body as JSON (400 if it is not),
 * validate it against the endpoint's schema (HTTP 200 with 1004/1007/1009 if it fails), then
 * call one core function and answer its body with HTTP 200.
 * @module
 */

import type { z } from "npm:zod@4.6.7";
import type { AppDeps } from "./deps.ts";
import { parseJsonBody } from "../core/common/mod.ts";
import { errorToResponse, jsonResponse } from "../core/http/mod.ts";
import type { SpiBody } from "../core/payments/mod.ts";
import type { Route, RouteContext } from "../core/http/mod.ts";
import { annotateSpan, recordSpiRequest, spiOutcomeOf } from "../core/telemetry/mod.ts";
import type { SpiOutcome } from "../core/telemetry/mod.ts";
import { parseSpiRequest } from "../core/wix/mod.ts";

/** Defines a `POST` SPI route behind the Wix signature gate. */
export function spiRoute<S extends z.ZodType>(
  name: string,
  path: string,
  schema: S,
  run: (request: z.output<S>, deps: AppDeps) => Promise<SpiBody>,
): Route<AppDeps> {
  return {
    name,
    method: "POST",
    path,
    gate: "wix",
    async handle(ctx, deps) {
      const json = parseJsonBody(ctx.body);
      if (json && typeof json === "object") annotateIds(ctx, json as Record<string, unknown>);
      const parsed = parseSpiRequest(schema, json);
      const note = (status: number, outcome: SpiOutcome, reasonCode?: number) => {
        recordSpiRequest(name, outcome, reasonCode, performance.now() - ctx.started);
        const id = (json as { wixTransactionId?: unknown } | undefined)?.wixTransactionId;
        if (typeof id !== "string" || id.length > 200) return;
        const at = Date.now();
        const entry = { wixTransactionId: id, operation: name, at, requestId: ctx.requestId };
        deps.journal.record({ ...entry, status, outcome, reasonCode });
      };
      let body: SpiBody;
      try {
        body = parsed.ok ? await run(parsed.data, deps) : { ...parsed.error };
      } catch (error) {
        note(errorToResponse(error)?.status ?? 500, "error");
        throw error;
      }
      const reasonCode = typeof body.reasonCode === "number" ? body.reasonCode : undefined;
      if (reasonCode !== undefined) {
        ctx.annotate({ reasonCode });
        annotateSpan({ "wix.reason_code": reasonCode });
      }
      note(200, spiOutcomeOf(body), reasonCode);
      return jsonResponse(body);
    },
  };
}

/** Puts the request's Wix ids on its log line and its span. */
function annotateIds(ctx: RouteContext, json: Record<string, unknown>): void {
  const { wixTransactionId, wixMerchantId } = json;
  if (typeof wixTransactionId === "string") {
    ctx.annotate({ wixTransactionId });
    annotateSpan({ "wix.transaction_id": wixTransactionId });
  }
  if (typeof wixMerchantId === "string") {
    ctx.annotate({ wixMerchantId });
    annotateSpan({ "wix.merchant_id": wixMerchantId });
  }
}
