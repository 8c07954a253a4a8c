/**
 * Capture and Void of an authorization (spec §2.4, §2.5) as steps of the operation driver.
 * They share one flow and differ in the amount rule and the status reached; each is stored on
 * its transaction (one of each at most), idempotent on `wixTransactionId` and the operation.
 * A refusal of a known transaction changes no state but owes the capture or void event that
 * confirms it, with its reason code (spec §2.5: every capture and void is confirmed by
 * webhook); a refused repeat owes an identical event, which the contract allows.
 * @module
 */

import { operationOutcomeProblem } from "../processor/mod.ts";
import type { OperationOutcome } from "../processor/mod.ts";
import { kvKeys } from "../store/mod.ts";
import { isPaymentDeclineCode, reason } from "../wix/mod.ts";
import type { Claim } from "./records.ts";
import {
  BUSY,
  claimExpired,
  commitAndAnnounce,
  idempotencyConflict,
  releaseClaim,
} from "./driver.ts";
import type { Operation, PaymentsContext } from "./driver.ts";
import { declineBody, operationEvent, operationResponse } from "./messages.ts";
import type { OperationRecord, TransactionRecord } from "./records.ts";
import { authorizationRefusal, declineOf } from "./refusals.ts";
import { moveOperation, moveTransaction } from "./state_machine.ts";

/** A capture or void request, in the service's terms. */
export interface AuthorizationRequest {
  wixTransactionId: string;
  pluginTransactionId?: string;
  merchantCredentials: Record<string, string>;
  amount: number;
}

type Kind = "capture" | "void";

/** A refusal of a known transaction: its decline, and the event that confirms it. */
interface Refused {
  refused: OperationRecord;
}

/** The claim's answer without a claim: unknown transaction, busy, repeat or refusal. */
function answerWithoutClaim(
  kind: Kind,
  tx: TransactionRecord | null,
  request: AuthorizationRequest,
  claim: Claim,
  leaseMs: number,
): { settled: Record<string, unknown> } | Refused | typeof BUSY | undefined {
  if (!tx) {
    const unknown = `transaction ${request.wixTransactionId} is unknown`;
    return {
      settled: declineBody(reason("REQUEST_NOT_ALLOWED", unknown, "TRANSACTION_NOT_FOUND")),
    };
  }
  const mine = tx[kind];
  if (mine) {
    if (mine.amount !== request.amount) {
      throw idempotencyConflict(`${kind} of ${request.wixTransactionId}`);
    }
    if (mine.status !== "processing") return { settled: operationResponse(mine) };
    if (!claimExpired(mine.claim, claim.at, leaseMs)) return BUSY;
    return undefined;
  }
  if (tx[kind === "capture" ? "void" : "capture"]?.status === "processing") return BUSY;
  const refusal = authorizationRefusal(kind, tx, request.pluginTransactionId, request.amount);
  if (!refusal) return undefined;
  return {
    refused: { status: "declined", amount: request.amount, decline: refusal, at: claim.at },
  };
}

/** The steps of a capture (`kind` "capture") or a void. */
export function authorizationOperation(
  kind: Kind,
): Operation<AuthorizationRequest, TransactionRecord, OperationOutcome> {
  return {
    name: kind,

    async claim(ctx, request, claim) {
      const key = kvKeys.transaction(request.wixTransactionId);
      const entry = await ctx.kv.get<TransactionRecord>(key);
      const answer = answerWithoutClaim(kind, entry.value, request, claim, ctx.processingLeaseMs);
      if (answer && typeof answer === "object" && "refused" in answer) {
        // No state changes; the refusal's event is owed with the transaction's next sequence.
        const next: TransactionRecord = { ...entry.value!, updatedAt: claim.at };
        const op = ctx.kv.atomic().check(entry);
        const event = operationEvent(kind, next, answer.refused);
        ctx.outbox.owe(op, next, kind, "final", event, claim.at);
        op.set(key, next);
        return { commit: op, value: { settled: operationResponse(answer.refused) } };
      }
      if (answer) return { done: answer };
      const operation: OperationRecord = {
        status: "processing",
        amount: request.amount,
        claim,
        at: claim.at,
      };
      const next: TransactionRecord = { ...entry.value!, [kind]: operation, updatedAt: claim.at };
      return { commit: ctx.kv.atomic().check(entry).set(key, next), value: { claimed: next } };
    },

    logFields: (tx) => ({ wixTransactionId: tx.wixTransactionId }),

    call(ctx, request, tx, call) {
      const input = {
        wixTransactionId: tx.wixTransactionId,
        pluginTransactionId: tx.pluginTransactionId ?? "",
        amount: request.amount,
        currency: tx.currency,
        merchantCredentials: request.merchantCredentials,
      };
      return kind === "capture"
        ? ctx.processor.capture(input, call)
        : ctx.processor.void(input, call);
    },

    contractProblem: operationOutcomeProblem(isPaymentDeclineCode),

    release: (ctx, tx, token) =>
      releaseClaim<TransactionRecord>(
        ctx.kv,
        kvKeys.transaction(tx.wixTransactionId),
        token,
        (record) => record[kind],
        (record, released) => ({ ...record, [kind]: { ...record[kind]!, claim: released } }),
      ),

    async record(ctx, tx, outcome, token) {
      const settled = await recordAuthorizationOutcome(
        ctx,
        kind,
        tx.wixTransactionId,
        outcome,
        token,
      );
      return settled ? operationResponse(settled) : undefined;
    },
  };
}

/** Records the processor's answer to a claimed capture or void; `undefined` if the claim was lost. */
async function recordAuthorizationOutcome(
  ctx: PaymentsContext,
  kind: Kind,
  wixTransactionId: string,
  outcome: OperationOutcome,
  token: string,
): Promise<OperationRecord | undefined> {
  const key = kvKeys.transaction(wixTransactionId);
  return await commitAndAnnounce(ctx, async () => {
    const now = ctx.clock.now();
    const entry = await ctx.kv.get<TransactionRecord>(key);
    const tx = entry.value!;
    const operation = tx[kind];
    if (!operation || operation.status !== "processing" || operation.claim?.token !== token) {
      return { done: undefined };
    }
    const succeeded = outcome.kind === "succeeded";
    const settled: OperationRecord = {
      status: moveOperation(operation, succeeded ? "succeeded" : "declined").status,
      amount: operation.amount,
      decline: outcome.kind === "declined" ? declineOf(outcome) : undefined,
      at: now,
    };
    let next: TransactionRecord = { ...tx, [kind]: settled, updatedAt: now };
    if (succeeded) {
      // The claim required "authorized", so the state machine allows this move.
      next = moveTransaction(next, kind === "capture" ? "captured" : "voided", now, "processor");
      if (kind === "capture") next.capturedAmount = operation.amount;
    }
    const op = ctx.kv.atomic().check(entry);
    ctx.outbox.owe(op, next, kind, "final", operationEvent(kind, next, settled), now);
    op.set(key, next);
    return { commit: op, value: settled };
  });
}
