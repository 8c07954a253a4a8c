/**
 * Refund Transaction (spec §2.3) as steps of the operation driver, idempotent on
 * `wixRefundId`: the claim reserves the amount on the transaction (so concurrent refunds never
 * exceed the balance) or records a refusal with its webhook; the processor is asked; the outcome
 * settles the refund and releases the reservation in one write with the refund webhook.
 * @module
 */

import type { Decline, OperationOutcome } from "../processor/mod.ts";
import { operationOutcomeProblem } from "../processor/mod.ts";
import { kvKeys } from "../store/mod.ts";
import { isRefundDeclineCode } from "../wix/mod.ts";
import type { RefundTransactionRequest } from "../wix/mod.ts";
import {
  BUSY,
  claimExpired,
  commitAndAnnounce,
  idempotencyConflict,
  releaseClaim,
} from "./driver.ts";
import type { Busy, ClaimStep, Operation, PaymentsContext } from "./driver.ts";
import type { AtomicStep } from "../store/mod.ts";
import { refundEvent, refundResponse } from "./messages.ts";
import type { Claim, RefundRecord, TransactionRecord } from "./records.ts";
import { balanceRefusal, declineOf, refundRefusal } from "./refusals.ts";
import { moveRefund } from "./state_machine.ts";

/** A new `pluginRefundId`. */
export function newRefundId(): string {
  return `rf_${crypto.randomUUID()}`;
}

/** A Wix refund's record: claimed, or failed at once with `decline`. */
function newWixRefund(
  request: RefundTransactionRequest,
  claim: Claim,
  decline?: Decline,
): RefundRecord {
  return {
    pluginRefundId: newRefundId(),
    wixRefundId: request.wixRefundId,
    wixTransactionId: request.wixTransactionId,
    amount: request.refundAmount,
    initiator: "wix",
    status: decline ? "failed" : "processing",
    claim: decline ? undefined : claim,
    decline,
    createdAt: claim.at,
    updatedAt: claim.at,
  };
}

/** The claim of a refund seen before: its answer, busy, or a takeover of a lapsed claim. */
async function claimKnownRefund(
  ctx: PaymentsContext,
  request: RefundTransactionRequest,
  pluginRefundId: string,
  claim: Claim,
): Promise<AtomicStep<ClaimStep<RefundRecord> | Busy>> {
  const key = kvKeys.refund(pluginRefundId);
  const entry = await ctx.kv.get<RefundRecord>(key);
  const refund = entry.value!;
  if (
    refund.wixTransactionId !== request.wixTransactionId || refund.amount !== request.refundAmount
  ) {
    throw idempotencyConflict(`wixRefundId ${request.wixRefundId}`);
  }
  if (refund.status !== "processing") return { done: { settled: refundResponse(refund) } };
  if (!claimExpired(refund.claim, claim.at, ctx.processingLeaseMs)) return { done: BUSY };
  const taken = { ...refund, claim };
  return { commit: ctx.kv.atomic().check(entry).set(key, taken), value: { claimed: taken } };
}

/** Wix refund's steps. */
export const refundOperation: Operation<RefundTransactionRequest, RefundRecord, OperationOutcome> =
  {
    name: "refund",

    async claim(ctx, request, claim) {
      const indexKey = kvKeys.refundByWixId(request.wixRefundId);
      const indexEntry = await ctx.kv.get<string>(indexKey);
      if (indexEntry.value !== null) {
        return await claimKnownRefund(ctx, request, indexEntry.value, claim);
      }
      const txKey = kvKeys.transaction(request.wixTransactionId);
      const txEntry = await ctx.kv.get<TransactionRecord>(txKey);
      const tx = txEntry.value;
      const decline = refundRefusal(tx, request);
      const refund = newWixRefund(request, claim, decline);
      const op = ctx.kv.atomic().check(indexEntry, txEntry)
        .set(indexKey, refund.pluginRefundId)
        .set(kvKeys.refund(refund.pluginRefundId), refund)
        .set(kvKeys.transactionRefund(refund.wixTransactionId, refund.pluginRefundId), null);
      const settled = { settled: refundResponse(refund) };
      if (!tx) return { commit: op, value: settled }; // no transaction: no webhook
      const next = { ...tx, updatedAt: claim.at };
      if (decline) {
        ctx.outbox.owe(op, next, "refund", "final", refundEvent(refund), claim.at);
      } else {
        next.reservedRefundAmount += refund.amount;
      }
      op.set(txKey, next);
      return { commit: op, value: decline ? settled : { claimed: refund } };
    },

    logFields: (refund) => ({
      wixTransactionId: refund.wixTransactionId,
      pluginRefundId: refund.pluginRefundId,
    }),

    async call(ctx, request, refund, call) {
      const tx = (await ctx.kv.get<TransactionRecord>(kvKeys.transaction(refund.wixTransactionId)))
        .value!;
      return await ctx.processor.refund({
        pluginRefundId: refund.pluginRefundId,
        wixRefundId: refund.wixRefundId,
        wixTransactionId: refund.wixTransactionId,
        pluginTransactionId: tx.pluginTransactionId ?? "",
        amount: refund.amount,
        currency: tx.currency,
        merchantCredentials: request.merchantCredentials,
        reason: request.reason,
      }, call);
    },

    contractProblem: operationOutcomeProblem(isRefundDeclineCode),

    release: (ctx, refund, token) =>
      releaseClaim<RefundRecord>(
        ctx.kv,
        kvKeys.refund(refund.pluginRefundId),
        token,
        (record) => record,
        (record, released) => ({ ...record, claim: released }),
      ),

    async record(ctx, refund, outcome, token) {
      const settled = await recordRefundOutcome(ctx, refund.pluginRefundId, outcome, token);
      return settled ? refundResponse(settled) : undefined;
    },
  };

/** Records the processor's answer to a claimed refund; `undefined` if the claim was lost. */
async function recordRefundOutcome(
  ctx: PaymentsContext,
  pluginRefundId: string,
  outcome: OperationOutcome,
  token: string,
): Promise<RefundRecord | undefined> {
  const key = kvKeys.refund(pluginRefundId);
  return await commitAndAnnounce(ctx, async () => {
    const now = ctx.clock.now();
    const entry = await ctx.kv.get<RefundRecord>(key);
    const refund = entry.value!;
    if (refund.status !== "processing" || refund.claim?.token !== token) {
      return { done: undefined };
    }
    const txKey = kvKeys.transaction(refund.wixTransactionId);
    const txEntry = await ctx.kv.get<TransactionRecord>(txKey);
    const tx = txEntry.value!;
    const succeeded = outcome.kind === "succeeded";
    const settled: RefundRecord = {
      ...moveRefund(refund, succeeded ? "succeeded" : "failed", now),
      claim: undefined,
      decline: outcome.kind === "declined" ? declineOf(outcome) : undefined,
    };
    const next: TransactionRecord = {
      ...tx,
      reservedRefundAmount: tx.reservedRefundAmount - refund.amount,
      refundedAmount: tx.refundedAmount + (succeeded ? refund.amount : 0),
      updatedAt: now,
    };
    const op = ctx.kv.atomic().check(entry, txEntry).set(key, settled);
    ctx.outbox.owe(op, next, "refund", "final", refundEvent(settled), now);
    op.set(txKey, next);
    return { commit: op, value: settled };
  });
}

/** What {@link recordPspRefund} did. */
export type PspRefundResult =
  | { kind: "created"; refund: RefundRecord }
  /** The same refund was reported before: nothing written. */
  | { kind: "existing"; refund: RefundRecord }
  | { kind: "not_found" }
  /** The `pluginRefundId` belongs to a different refund. */
  | { kind: "conflict"; message: string }
  /** Not refundable now (state or balance). */
  | { kind: "refused"; message: string };

/** Why a back-office refund cannot be recorded on `tx`, if it cannot. */
function pspRefundRefusal(tx: TransactionRecord, amount: number): string | undefined {
  if (tx.status !== "approved" && tx.status !== "captured") {
    return `the transaction is ${tx.status}; only approved or captured payments can be refunded`;
  }
  return balanceRefusal(tx, amount)?.errorMessage;
}

/**
 * Records a refund already made in the PSP's back office and owes its webhook (without
 * `wixRefundId`). Idempotent on `pluginRefundId`, generated when absent.
 */
export async function recordPspRefund(
  ctx: PaymentsContext,
  wixTransactionId: string,
  amount: number,
  pluginRefundId = newRefundId(),
): Promise<PspRefundResult> {
  const refundKey = kvKeys.refund(pluginRefundId);
  const txKey = kvKeys.transaction(wixTransactionId);
  return await commitAndAnnounce<PspRefundResult>(ctx, async () => {
    const now = ctx.clock.now();
    const [refundEntry, txEntry] = await ctx.kv.getMany<[RefundRecord, TransactionRecord]>([
      refundKey,
      txKey,
    ]);
    const existing = refundEntry.value;
    if (existing) {
      const same = existing.initiator === "psp" && existing.wixTransactionId === wixTransactionId &&
        existing.amount === amount;
      const message = `pluginRefundId ${pluginRefundId} belongs to another refund`;
      return {
        done: same ? { kind: "existing", refund: existing } : { kind: "conflict", message },
      };
    }
    const tx = txEntry.value;
    if (!tx) return { done: { kind: "not_found" } };
    const refusal = pspRefundRefusal(tx, amount);
    if (refusal) return { done: { kind: "refused", message: refusal } };
    const refund: RefundRecord = {
      pluginRefundId,
      wixTransactionId,
      amount,
      initiator: "psp",
      status: "succeeded",
      createdAt: now,
      updatedAt: now,
    };
    const next = { ...tx, refundedAmount: tx.refundedAmount + amount, updatedAt: now };
    const op = ctx.kv.atomic().check(refundEntry, txEntry)
      .set(refundKey, refund)
      .set(kvKeys.transactionRefund(wixTransactionId, pluginRefundId), null);
    ctx.outbox.owe(op, next, "refund", "final", refundEvent(refund), now);
    op.set(txKey, next);
    return { commit: op, value: { kind: "created", refund } };
  });
}
