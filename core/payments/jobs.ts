/**
 * The payment jobs: scheduled work that applies an outcome later, written in the same atomic
 * operation as the change that makes it necessary and run by the sweeper once due (see
 * `core/store/jobs.ts`). Running one twice is harmless: the state machine ignores a repeat.
 * @module
 */

import type { JobResult } from "../store/mod.ts";
import { reason } from "../wix/mod.ts";
import type { PaymentsContext } from "./driver.ts";
import { recordPaymentOutcome } from "./outcome.ts";
import type { PaymentJob } from "./records.ts";

/** Runs one due job; a transaction still being processed is retried a second later. */
export async function runPaymentJob(ctx: PaymentsContext, job: PaymentJob): Promise<JobResult> {
  const result = job.kind === "payment_outcome"
    ? await recordPaymentOutcome(ctx, job.wixTransactionId, job.outcome, "sandbox")
    : await recordPaymentOutcome(
      ctx,
      job.wixTransactionId,
      { kind: "declined", ...reason("BUYER_CANCELED", "The buyer abandoned the payment page") },
      "abandonment",
      { onlyFrom: ["awaiting_buyer"] },
    );
  if (result.kind === "busy") return { done: false, retryAt: ctx.clock.now() + 1000 };
  if (result.kind === "rejected" && job.kind === "payment_outcome") {
    ctx.logger.warn("scheduled outcome not applied", {
      wixTransactionId: job.wixTransactionId,
      reason: result.reason,
    });
  }
  return { done: true };
}
