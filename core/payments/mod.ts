/**
 * Payments: the SPI operations (connect, create, refund, capture, void), later outcomes, and the
 * records and state machines they change. Owns transaction, refund and merchant records and the
 * payment jobs. Every processor-calling operation is a small module of steps run by one driver
 * (`driver.ts`): claim the idempotency key, call the processor, record the outcome together with
 * the webhook it owes in one atomic write. May import `common`, `wix`, `processor`, `store` and
 * `delivery` (for the outbox); never `http`, routes or `cli`.
 * @module
 */

import type { PaymentsPort } from "../processor/mod.ts";
import type {
  CaptureTransactionRequest,
  ConnectAccountRequest,
  CreateTransactionRequest,
  RefundTransactionRequest,
  VoidTransactionRequest,
} from "../wix/mod.ts";
import { authorizationOperation } from "./authorization.ts";
import { connectAccount } from "./connect.ts";
import { createOperation, createRequestOf } from "./create.ts";
import { runOperation } from "./driver.ts";
import { paymentsPort } from "./port.ts";
import type { PaymentsContext, SpiBody } from "./driver.ts";
import { runPaymentJob } from "./jobs.ts";
import { recordPaymentOutcome } from "./outcome.ts";
import type { AppliedOutcome, OutcomeResult } from "./outcome.ts";
import { redeliverSince } from "./redeliver.ts";
import type { RedeliverySummary } from "./redeliver.ts";
import { recordPspRefund, refundOperation } from "./refund.ts";
import type { PspRefundResult } from "./refund.ts";
import type { PaymentJob } from "./records.ts";
import type { TransactionStatus } from "./state_machine.ts";
import type { JobResult } from "../store/mod.ts";

export type { SpiBody } from "./driver.ts";
export { planOutcome } from "./outcome.ts";
export { NO_ORDER_RULES } from "./order_rules.ts";
export type { OrderRules } from "./order_rules.ts";
export type { AppliedOutcome, OutcomeResult } from "./outcome.ts";
export { cardDetailsOf, paymentFingerprint, paymentMethodOf } from "./input.ts";
export { newRefundId } from "./refund.ts";
export type { PspRefundResult } from "./refund.ts";
export type { RedeliverySummary } from "./redeliver.ts";
export { balanceRefusal } from "./refusals.ts";
export * from "./records.ts";
export * from "./state_machine.ts";
export * from "./messages.ts";

/** What the payment operations need: the {@link PaymentsContext} every operation works with. */
export type PaymentsOptions = PaymentsContext;

/** The payment operations, bound to one KV, processor and outbox. */
export interface Payments {
  connectAccount(request: ConnectAccountRequest): Promise<SpiBody>;
  createTransaction(request: CreateTransactionRequest): Promise<SpiBody>;
  refundTransaction(request: RefundTransactionRequest): Promise<SpiBody>;
  captureTransaction(request: CaptureTransactionRequest): Promise<SpiBody>;
  voidTransaction(request: VoidTransactionRequest): Promise<SpiBody>;
  /**
   * Applies a later outcome (PSP back office, sandbox page, job) through the state machine.
   * With `onlyFrom`, it applies only while the transaction is in one of those statuses.
   */
  recordPaymentOutcome(
    wixTransactionId: string,
    outcome: AppliedOutcome,
    source: string,
    onlyFrom?: TransactionStatus[],
  ): Promise<OutcomeResult>;
  /**
   * Records a refund already made in the PSP's back office and owes its webhook (without
   * `wixRefundId`). Idempotent on `pluginRefundId`, generated when absent.
   */
  recordPspRefund(
    wixTransactionId: string,
    amount: number,
    pluginRefundId?: string,
  ): Promise<PspRefundResult>;
  /** Owes again the latest webhook of every transaction and refund changed since `since` (ms). */
  redeliverSince(since: number): Promise<RedeliverySummary>;
  /** Runs one due payment job (for the sweeper). */
  runJob(job: PaymentJob): Promise<JobResult>;
  /** What a processor plugin may do with payments: report later outcomes, look one up. */
  readonly port: PaymentsPort;
}

const captureOperation = authorizationOperation("capture");
const voidOperation = authorizationOperation("void");

/** Binds the payment operations to their collaborators. */
export function createPayments(options: PaymentsOptions): Payments {
  const ctx: PaymentsContext = { ...options };
  return {
    connectAccount: (request) => connectAccount(ctx, request),
    createTransaction: async (request) =>
      await runOperation(ctx, createOperation, await createRequestOf(request)),
    refundTransaction: (request) => runOperation(ctx, refundOperation, request),
    captureTransaction: (request) =>
      runOperation(ctx, captureOperation, { ...request, amount: request.captureAmount }),
    voidTransaction: (request) =>
      runOperation(ctx, voidOperation, { ...request, amount: request.voidAmount }),
    async recordPaymentOutcome(wixTransactionId, outcome, source, onlyFrom) {
      const result = await recordPaymentOutcome(ctx, wixTransactionId, outcome, source, {
        onlyFrom,
      });
      if (result.kind === "lost_claim") throw new Error("unreachable: no claim token was given");
      return result;
    },
    recordPspRefund: (wixTransactionId, amount, pluginRefundId) =>
      recordPspRefund(ctx, wixTransactionId, amount, pluginRefundId),
    redeliverSince: (since) => redeliverSince(ctx, since),
    runJob: (job) => runPaymentJob(ctx, job),
    port: paymentsPort(ctx),
  };
}
