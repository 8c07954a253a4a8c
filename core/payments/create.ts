/**
 * Create Transaction (spec §2.2) as steps of the operation driver: claim the
 * `wixTransactionId` (a reused id with another request is a conflict; an order the service
 * declines itself, `order_rules.ts`, is declined here without asking the processor), ask the
 * processor, record its outcome through the state machine with the webhook it owes.
 * @module
 */

import type { CreateTransactionRequest } from "../wix/mod.ts";
import { paymentOutcomeProblem } from "../processor/mod.ts";
import type { PaymentOutcome } from "../processor/mod.ts";
import { knownEntry, kvKeys } from "../store/mod.ts";
import { BUSY, claimExpired, idempotencyConflict, releaseClaim } from "./driver.ts";
import type { Operation, PaymentsContext } from "./driver.ts";
import { newTransaction, paymentFingerprint, paymentInput } from "./input.ts";
import { transactionResponse } from "./messages.ts";
import { planOutcome, recordPaymentOutcome, writeChange } from "./outcome.ts";
import { serviceDecline } from "./order_rules.ts";
import { indexTransaction } from "./records.ts";
import type { TransactionRecord } from "./records.ts";

/** A Create Transaction request with its fingerprint, computed once per request. */
export interface CreateRequest {
  request: CreateTransactionRequest;
  fingerprint: string;
}

/** Reads `request` into what {@link createOperation} runs on. */
export async function createRequestOf(request: CreateTransactionRequest): Promise<CreateRequest> {
  return { request, fingerprint: await paymentFingerprint(request) };
}

/** Create Transaction's steps. */
export const createOperation: Operation<CreateRequest, TransactionRecord, PaymentOutcome> = {
  name: "createPayment",

  async claim(ctx, { request, fingerprint }, claim, tries) {
    const id = request.wixTransactionId;
    const key = kvKeys.transaction(id);
    // Almost every id is new: the first try inserts if absent without reading; a retry reads.
    const entry = tries === 1
      ? knownEntry<TransactionRecord>(key, null, null)
      : await ctx.kv.get<TransactionRecord>(key);
    const tx = entry.value;
    if (tx) {
      if (tx.fingerprint !== fingerprint) throw idempotencyConflict(`wixTransactionId ${id}`);
      if (tx.status !== "processing") return { done: { settled: transactionResponse(tx) } };
      if (!claimExpired(tx.claim, claim.at, ctx.processingLeaseMs)) return { done: BUSY };
      const taken = { ...tx, claim };
      return { commit: ctx.kv.atomic().check(entry).set(key, taken), value: { claimed: taken } };
    }
    const fresh = newTransaction(request, fingerprint, claim.at, claim);
    const decline = serviceDecline(request, ctx.orderRules);
    if (decline) {
      // Declined by the service itself; the processor is never asked (spec §6.2 item 2).
      const plan = planOutcome(fresh, { kind: "declined", ...decline }, claim.at, "service", 0);
      if (!("change" in plan)) throw new Error("a new transaction must accept a decline");
      const op = ctx.kv.atomic().check(entry);
      indexTransaction(op, fresh);
      const settled = writeChange(ctx, op, plan.change, claim.at);
      return { commit: op, value: { settled: transactionResponse(settled) } };
    }
    const op = ctx.kv.atomic().check(entry).set(key, fresh);
    indexTransaction(op, fresh);
    return { commit: op, value: { claimed: fresh } };
  },

  logFields: (tx) => ({ wixTransactionId: tx.wixTransactionId }),

  call: (ctx, { request }, tx, call) =>
    ctx.processor.createPayment(paymentInput(request, tx), call),

  contractProblem: (outcome, tx) => paymentOutcomeProblem(outcome, tx.amount),

  release: (ctx, tx, token) =>
    releaseClaim<TransactionRecord>(
      ctx.kv,
      kvKeys.transaction(tx.wixTransactionId),
      token,
      (record) => record,
      (record, released) => ({ ...record, claim: released }),
    ),

  async record(ctx: PaymentsContext, tx, outcome, token, versionstamp) {
    const result = await recordPaymentOutcome(ctx, tx.wixTransactionId, outcome, "processor", {
      claimToken: token,
      known: { tx, versionstamp },
    });
    if (result.kind === "changed" || result.kind === "unchanged") {
      return transactionResponse(result.tx);
    }
    if (result.kind === "rejected") throw new Error(`processor outcome refused: ${result.reason}`);
    return undefined; // our claim was taken over; answer from whatever the new holder records
  },
};
