/**
 * The payment jobs: scheduled work that applies an outcome later, written in the same atomic
 * operation as the change that makes it necessary and run by the sweeper once due (see
 * `core/store/jobs.ts`). Running one twice is harmless: the state machine ignores a repeat.
 * @module
 */

import type { CardDetails, CredentialsOnFile, Decline } from "../processor/mod.ts";
import type { JobResult } from "../store/mod.ts";
import { reason } from "../wix/mod.ts";
import type { PaymentsContext } from "./driver.ts";
import { recordPaymentOutcome } from "./outcome.ts";

/** A scheduled payment job. */
export type PaymentJob =
  /** Apply a later payment outcome (the sandbox's pending cards). */
  | {
    kind: "payment_outcome";
    id: string;
    wixTransactionId: string;
    outcome:
      | { kind: "approved"; cardDetails?: CardDetails; credentialsOnFile?: CredentialsOnFile }
      | ({ kind: "declined" } & Decline);
  }
  /** Cancel a redirect payment whose buyer never chose (3030). */
  | { kind: "abandon_redirect"; id: string; wixTransactionId: string };

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
