/**
 * The sandbox as a processor plugin: the processor over its own store, its checkout routes, and
 * a sweep that reports its scheduled later outcomes (a pending card's final answer) through the
 * service's outcome port.
 * @module
 */

import type { ProcessorContext, ProcessorPlugin } from "../../processor/mod.ts";
import type { ScheduledOutcome } from "./decide.ts";
import { sandboxKeys } from "./keys.ts";
import { createSandboxProcessor } from "./processor.ts";
import { checkoutRoutes } from "./routes.ts";

/** The sandbox's settings. */
export interface SandboxSettings {
  /** Delay before a pending card reaches its final outcome. */
  pendingDelayMs: number;
}

/** Reports every scheduled outcome due at `now`; one still being recorded waits a second. */
async function reportDueOutcomes(ctx: ProcessorContext, now: number): Promise<void> {
  const due = ctx.store.list<ScheduledOutcome>(
    { prefix: sandboxKeys.duePrefix(), end: sandboxKeys.due(now + 1, "") },
    100,
  );
  for await (const entry of due) {
    const { wixTransactionId, outcome } = entry.value!;
    const result = await ctx.payments.reportOutcome(wixTransactionId, outcome, {
      source: "sandbox",
    });
    const op = ctx.store.atomic().check(entry).delete(entry.key);
    if (result.kind === "busy") {
      op.set(sandboxKeys.due(now + 1000, crypto.randomUUID()), entry.value);
    }
    if (result.kind === "rejected") {
      ctx.logger.warn("scheduled outcome not applied", { wixTransactionId, reason: result.reason });
    }
    await op.commit();
  }
}

/** The sandbox plugin. */
export function createSandboxPlugin(
  ctx: ProcessorContext,
  settings: SandboxSettings,
): ProcessorPlugin {
  return {
    processor: createSandboxProcessor({
      store: ctx.store,
      publicBaseUrl: ctx.publicBaseUrl,
      pendingDelayMs: settings.pendingDelayMs,
      clock: ctx.clock,
    }),
    routes: checkoutRoutes(ctx.store, ctx.payments),
    sweep: (now) => reportDueOutcomes(ctx, now),
  };
}
