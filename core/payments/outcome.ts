/**
 * Payment outcomes becoming transaction statuses: from the processor's first answer, the PSP
 * back office, the sandbox checkout page or a scheduled job. {@link planOutcome} is the pure
 * rule; {@link recordPaymentOutcome} applies it in one checked write with the webhook the change
 * owes and any job it schedules.
 * @module
 */

import type { CardDetails, CredentialsOnFile, Decline } from "../processor/mod.ts";
import { knownEntry, kvKeys, scheduleJob } from "../store/mod.ts";
import { newJobId } from "../store/mod.ts";
import { ReasonCode } from "../wix/mod.ts";
import { commitAndAnnounce } from "./driver.ts";
import type { PaymentsContext } from "./driver.ts";
import { transactionEvent } from "./messages.ts";
import type { PaymentJob, TransactionRecord } from "./records.ts";
import { checkTransition, moveTransaction, wasApproved, wixPhaseOf } from "./state_machine.ts";
import type { TransactionStatus } from "./state_machine.ts";

/** An outcome applied to a transaction, from the processor, the PSP back office or a job. */
export type AppliedOutcome =
  | {
    kind: "approved";
    pluginTransactionId?: string;
    cardDetails?: CardDetails;
    credentialsOnFile?: CredentialsOnFile;
    /** A partial authorization: the amount approved, below the transaction's. */
    authorizedAmount?: number;
  }
  | ({ kind: "declined"; pluginTransactionId?: string } & Decline)
  | { kind: "pending"; pluginTransactionId?: string; reasonCode: number }
  | { kind: "redirect"; pluginTransactionId?: string; redirectUrl: string };

/** What {@link recordPaymentOutcome} did. */
export type OutcomeResult =
  | { kind: "changed"; tx: TransactionRecord }
  /** A repeat of the current state: accepted, nothing written. */
  | { kind: "unchanged"; tx: TransactionRecord }
  /** It would contradict the current state: nothing written. */
  | { kind: "rejected"; tx: TransactionRecord; reason: string }
  /** The processor is still being asked for the first outcome. */
  | { kind: "busy"; tx: TransactionRecord }
  | { kind: "not_found" };

/** Conditions on applying an outcome. */
export interface RecordOptions {
  /** The claim under which the processor was asked; the outcome is dropped if it was lost. */
  claimToken?: string;
  /** Apply only while the transaction is in one of these statuses. */
  onlyFrom?: TransactionStatus[];
  /**
   * The record as this caller last wrote it, at `versionstamp`: the first try writes over it
   * without reading (its check fails, and the next try reads, if anything changed it since).
   */
  known?: { tx: TransactionRecord; versionstamp: string };
}

/** The status an outcome moves a transaction to. */
function targetStatus(tx: TransactionRecord, outcome: AppliedOutcome): TransactionStatus {
  switch (outcome.kind) {
    case "approved":
      return tx.authorizeOnly ? "authorized" : "approved";
    case "declined":
      return outcome.reasonCode === ReasonCode.BUYER_CANCELED ? "canceled" : "declined";
    case "pending":
      return "pending";
    case "redirect":
      return "awaiting_buyer";
  }
}

/** Whether `outcome` only repeats what `tx` already is. */
function repeatsCurrentState(tx: TransactionRecord, outcome: AppliedOutcome): boolean {
  switch (outcome.kind) {
    case "approved":
      return wasApproved(tx.status);
    case "declined":
      return tx.status === targetStatus(tx, outcome) &&
        tx.reason?.reasonCode === outcome.reasonCode;
    case "pending":
      return tx.status === "pending" && tx.reason?.reasonCode === outcome.reasonCode;
    case "redirect":
      return tx.status === "awaiting_buyer";
  }
}

/** A change to write: the next record, the webhooks it owes and the jobs it schedules. */
export interface Change {
  next: TransactionRecord;
  events: { kind: "transaction"; phase: "pending" | "final" }[];
  jobs: { job: PaymentJob; dueAt: number }[];
}

/** The fields an outcome sets on the transaction it moves. */
function outcomeFields(tx: TransactionRecord, outcome: AppliedOutcome): Partial<TransactionRecord> {
  switch (outcome.kind) {
    case "approved":
      return {
        capturedAmount: tx.authorizeOnly ? 0 : outcome.authorizedAmount ?? tx.amount,
        authorizedAmount: outcome.authorizedAmount,
        reportedCard: outcome.cardDetails,
        credentialsOnFile: outcome.credentialsOnFile,
      };
    case "declined":
      return {
        reason: {
          reasonCode: outcome.reasonCode,
          errorCode: outcome.errorCode,
          errorMessage: outcome.errorMessage,
        },
      };
    case "pending":
      return { reason: { reasonCode: outcome.reasonCode } };
    case "redirect":
      return { redirectUrl: outcome.redirectUrl };
  }
}

/**
 * Plans applying `outcome` to `tx`: the one place a payment outcome becomes a status. Returns
 * a change, or why nothing changes.
 */
export function planOutcome(
  tx: TransactionRecord,
  outcome: AppliedOutcome,
  now: number,
  source: string,
  redirectAbandonAfterMs: number,
): { change: Change } | { unchanged: true } | { rejected: string } {
  if (repeatsCurrentState(tx, outcome)) return { unchanged: true };
  const target = targetStatus(tx, outcome);
  const check = checkTransition(tx.status, target);
  if (!check.ok) return { rejected: check.reason };
  const moved = moveTransaction(tx, target, now, source);
  const next: TransactionRecord = {
    ...moved,
    claim: undefined,
    pluginTransactionId: tx.pluginTransactionId ?? outcome.pluginTransactionId,
    reason: undefined,
    redirectUrl: undefined,
    ...outcomeFields(tx, outcome),
  };
  const phase = wixPhaseOf(target);
  const change: Change = { next, events: [], jobs: [] };
  if (phase !== "none") change.events.push({ kind: "transaction", phase });
  if (target === "awaiting_buyer" && redirectAbandonAfterMs > 0) {
    change.jobs.push({
      job: { kind: "abandon_redirect", id: newJobId(), wixTransactionId: tx.wixTransactionId },
      dueAt: now + redirectAbandonAfterMs,
    });
  }
  return { change };
}

/** Adds `change` (record, owed webhooks, jobs) to `op`; returns the next record. */
export function writeChange(
  ctx: PaymentsContext,
  op: Deno.AtomicOperation,
  change: Change,
  now: number,
): TransactionRecord {
  for (const event of change.events) {
    ctx.outbox.owe(op, change.next, event.kind, event.phase, transactionEvent(change.next), now);
  }
  for (const { job, dueAt } of change.jobs) scheduleJob(op, job, dueAt);
  op.set(kvKeys.transaction(change.next.wixTransactionId), change.next);
  if (change.next.pluginTransactionId) {
    op.set(
      kvKeys.transactionByPluginId(change.next.pluginTransactionId),
      change.next.wixTransactionId,
    );
  }
  return change.next;
}

/** Why `tx` may not take an outcome now, if it may not (a lost claim, busy, or not `onlyFrom`). */
function outcomeBlocked(
  tx: TransactionRecord,
  { claimToken, onlyFrom }: RecordOptions,
): OutcomeResult | { kind: "lost_claim" } | undefined {
  if (claimToken !== undefined) {
    if (tx.status !== "processing" || tx.claim?.token !== claimToken) return { kind: "lost_claim" };
  } else if (tx.status === "processing") {
    return { kind: "busy", tx };
  }
  if (onlyFrom && !onlyFrom.includes(tx.status)) {
    return {
      kind: "rejected",
      tx,
      reason: `the transaction is no longer ${onlyFrom.join(" or ")}`,
    };
  }
  return undefined;
}

/** Applies `outcome` to a transaction through the state machine, with its webhook and jobs. */
export async function recordPaymentOutcome(
  ctx: PaymentsContext,
  wixTransactionId: string,
  outcome: AppliedOutcome,
  source: string,
  options: RecordOptions = {},
): Promise<OutcomeResult | { kind: "lost_claim" }> {
  const key = kvKeys.transaction(wixTransactionId);
  const { known } = options;
  return await commitAndAnnounce<OutcomeResult | { kind: "lost_claim" }>(ctx, async (tries) => {
    const now = ctx.clock.now();
    const entry = tries === 1 && known
      ? knownEntry(key, known.tx, known.versionstamp)
      : await ctx.kv.get<TransactionRecord>(key);
    const tx = entry.value;
    if (!tx) return { done: { kind: "not_found" } };
    const blocked = outcomeBlocked(tx, options);
    if (blocked) return { done: blocked };
    const plan = planOutcome(tx, outcome, now, source, ctx.redirectAbandonAfterMs);
    if ("unchanged" in plan) return { done: { kind: "unchanged", tx } };
    if ("rejected" in plan) return { done: { kind: "rejected", tx, reason: plan.rejected } };
    const op = ctx.kv.atomic().check(entry);
    const next = writeChange(ctx, op, plan.change, now);
    return { commit: op, value: { kind: "changed", tx: next } };
  });
}
