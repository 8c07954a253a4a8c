/**
 * The payment operations behind the SPI endpoints: idempotent, concurrency-safe, durable.
 *
 * Each operation follows one pattern. A request first claims its idempotency key with a checked
 * atomic write (insert-if-absent, or take over a claim whose holder crashed). Only the claimant
 * calls the processor; identical concurrent requests poll until the claimant records the result
 * and then answer from the record, or answer 503 (so Wix retries) if it takes too long. The
 * result is written in one atomic operation together with the webhook it owes (the outbox) and
 * any job it schedules. Every status change goes through the state machine.
 * @module
 */

import { isSupportedCurrency } from "../wix/currencies.ts";
import { HttpError } from "../http/responses.ts";
import { newJobId, scheduleJob } from "../store/jobs.ts";
import type { Job } from "../store/jobs.ts";
import { atomicRetry, sleep } from "../store/kv.ts";
import type { AtomicStep } from "../store/kv.ts";
import { kvKeys } from "../store/keys.ts";
import type { Logger } from "../common/log.ts";
import {
  declineBody,
  operationEvent,
  operationResponse,
  refundEvent,
  refundResponse,
  transactionEvent,
  transactionResponse,
} from "./messages.ts";
import type { Outbox } from "../delivery/outbox.ts";
import { paymentMethodOf } from "../wix/payment_methods.ts";
import { cardDetailsOfPan } from "../processor/types.ts";
import type {
  CardDetails,
  ConnectOutcome,
  CredentialsOnFile,
  Decline,
  OperationOutcome,
  PaymentInput,
  PaymentOutcome,
  PaymentProcessor,
} from "../processor/types.ts";
import {
  isPaymentDeclineCode,
  isPendingCode,
  isRefundDeclineCode,
  reason,
  ReasonCode,
} from "../wix/reason_codes.ts";
import type {
  CaptureTransactionRequest,
  ConnectAccountRequest,
  CreateTransactionRequest,
  RefundTransactionRequest,
  VoidTransactionRequest,
} from "../wix/schemas.ts";
import { checkTransition, wasApproved, wixPhaseOf } from "./state_machine.ts";
import type { TransactionStatus } from "./state_machine.ts";
import type {
  Claim,
  MerchantRecord,
  OperationRecord,
  RefundRecord,
  TransactionRecord,
} from "./records.ts";
import { sha256Hex } from "../wix/verify.ts";

/** A JSON body answered to Wix with HTTP 200. */
export type SpiBody = Record<string, unknown>;

/** An outcome applied to a transaction, from the processor, the PSP back office or a job. */
export type AppliedOutcome =
  | {
    kind: "approved";
    pluginTransactionId?: string;
    cardDetails?: CardDetails;
    credentialsOnFile?: CredentialsOnFile;
  }
  | ({ kind: "declined"; pluginTransactionId?: string } & Decline)
  | { kind: "pending"; pluginTransactionId?: string; reasonCode: number }
  | { kind: "redirect"; pluginTransactionId?: string; redirectUrl: string };

/** What {@link Payments.recordPaymentOutcome} did. */
export type OutcomeResult =
  | { kind: "changed"; tx: TransactionRecord }
  /** A repeat of the current state: accepted, nothing written. */
  | { kind: "unchanged"; tx: TransactionRecord }
  /** It would contradict the current state: nothing written. */
  | { kind: "rejected"; tx: TransactionRecord; reason: string }
  /** The processor is still being asked for the first outcome. */
  | { kind: "busy"; tx: TransactionRecord }
  | { kind: "not_found" };

/** What the payment operations need. */
export interface PaymentsOptions {
  kv: Deno.Kv;
  processor: PaymentProcessor;
  outbox: Outbox;
  logger: Logger;
  /** How long a duplicate request waits for the first to finish before answering 503. */
  inFlightWaitMs: number;
  /** How long a claim protects an unfinished processor call before a retry may take over. */
  processingLeaseMs: number;
  /** A redirect payment with no buyer choice for this long is canceled (0: never). */
  redirectAbandonAfterMs: number;
}

/** The payment operations. */
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
}

/** What {@link Payments.recordPspRefund} did. */
export type PspRefundResult =
  | { kind: "created"; refund: RefundRecord }
  /** The same refund was reported before: nothing written. */
  | { kind: "existing"; refund: RefundRecord }
  | { kind: "not_found" }
  /** The `pluginRefundId` belongs to a different refund. */
  | { kind: "conflict"; message: string }
  /** Not refundable now (state or balance). */
  | { kind: "refused"; message: string };

interface RecordOptions {
  /** The claim under which the processor was asked; the outcome is dropped if it was lost. */
  claimToken?: string;
  onlyFrom?: TransactionStatus[];
}

const BUSY = Symbol("busy");
type Busy = typeof BUSY;
type ClaimStep<S, C> = { settled: S } | { claimed: C };

/** How the payment was made, beyond its method: shown to operators. */
function paymentTypeOf(request: CreateTransactionRequest): TransactionRecord["paymentType"] {
  if (request.offSession) return "off_session";
  if (request.moto) return "moto";
  if (request.setupCredentialsOnFile) return "credentials_setup";
  if (request.paymentMethodData?.reference) return "stored_credential";
  return undefined;
}

/** The BIN and last four of the request's card or wallet PAN, if any. */
export function cardDetailsOf(request: CreateTransactionRequest): CardDetails | undefined {
  const pan = request.paymentMethodData?.card?.number ?? request.paymentMethodData?.googlePay?.pan;
  return pan ? cardDetailsOfPan(pan) : undefined;
}

/**
 * A hash of what makes two Create Transaction requests "the same payment": amount, currency,
 * method, capture mode, card identity (BIN, last four, expiry: never the full number) and the
 * payment type (installments, MOTO, off-session, set-up, stored credential). The payment-type
 * part is hashed only when present, so a plain payment keeps the hash it always had.
 */
export async function paymentFingerprint(request: CreateTransactionRequest): Promise<string> {
  const data = request.paymentMethodData;
  const card = data?.card
    ? [data.card.month, data.card.year]
    : data?.googlePay
    ? [data.googlePay.expirationMonth, data.googlePay.expirationYear]
    : [];
  const type = {
    installments: (request.installments ?? 1) > 1 ? request.installments : undefined,
    moto: request.moto || undefined,
    offSession: request.offSession || undefined,
    setup: request.setupCredentialsOnFile ? true : undefined,
    stored: data?.reference?.token ?? data?.card?.networkTransactionId,
    issuerBank: data?.ideal?.issuerBank,
  };
  const typed = Object.values(type).some((value) => value !== undefined);
  return await sha256Hex(JSON.stringify([
    request.order.description.totalAmount,
    request.order.description.currency,
    request.paymentMethod ?? null,
    request.authorizeOnly,
    cardDetailsOf(request) ?? null,
    ...card,
    ...(typed ? [type] : []),
  ]));
}

/** The processor's input for a claimed transaction. */
function paymentInput(request: CreateTransactionRequest, tx: TransactionRecord): PaymentInput {
  return {
    wixTransactionId: tx.wixTransactionId,
    wixMerchantId: request.wixMerchantId,
    merchantCredentials: request.merchantCredentials,
    amount: tx.amount,
    currency: tx.currency,
    authorizeOnly: tx.authorizeOnly,
    method: paymentMethodOf(request),
    installments: tx.installments ?? 1,
    moto: request.moto ?? false,
    offSession: request.offSession ?? false,
    scaRequested: request.scaRequested ?? false,
    setupCredentialsOnFile: request.setupCredentialsOnFile
      ? { offSession: request.setupCredentialsOnFile.offSession ?? false }
      : undefined,
    request,
  };
}

function conflict(what: string): HttpError {
  return new HttpError(
    422,
    "idempotency_conflict",
    `${what} was already used with a different request; nothing was charged`,
  );
}

function claimExpired(claim: Claim | undefined, now: number, leaseMs: number): boolean {
  return !claim || claim.at === 0 || now - claim.at > leaseMs;
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
interface Change {
  next: TransactionRecord;
  events: { kind: "transaction"; phase: "pending" | "final" }[];
  jobs: { job: Job; dueAt: number }[];
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
  const next: TransactionRecord = {
    ...tx,
    status: target,
    claim: undefined,
    pluginTransactionId: tx.pluginTransactionId ?? outcome.pluginTransactionId,
    reason: undefined,
    redirectUrl: undefined,
    updatedAt: now,
    history: [...tx.history, { status: target, at: now, source }].slice(-20),
  };
  switch (outcome.kind) {
    case "approved":
      next.capturedAmount = tx.authorizeOnly ? 0 : tx.amount;
      next.reportedCard = outcome.cardDetails;
      next.credentialsOnFile = outcome.credentialsOnFile;
      break;
    case "declined":
      next.reason = {
        reasonCode: outcome.reasonCode,
        errorCode: outcome.errorCode,
        errorMessage: outcome.errorMessage,
      };
      break;
    case "pending":
      next.reason = { reasonCode: outcome.reasonCode };
      break;
    case "redirect":
      next.redirectUrl = outcome.redirectUrl;
      break;
  }
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

function validatePaymentOutcome(outcome: PaymentOutcome): void {
  const id = outcome.pluginTransactionId;
  if (id !== undefined && (typeof id !== "string" || id.length === 0 || id.length > 200)) {
    throw new Error("pluginTransactionId must be a string of 1 to 200 characters");
  }
  switch (outcome.kind) {
    case "approved":
    case "pending":
    case "redirect":
      if (id === undefined) {
        throw new Error(`a ${outcome.kind} outcome needs a pluginTransactionId`);
      }
      break;
  }
  if (outcome.kind === "declined" && !isPaymentDeclineCode(outcome.reasonCode)) {
    throw new Error(`reasonCode ${outcome.reasonCode} is not a payment decline code`);
  }
  if (outcome.kind === "pending" && !isPendingCode(outcome.reasonCode)) {
    throw new Error(`reasonCode ${outcome.reasonCode} is not a pending code (5005, 5009)`);
  }
  if (outcome.kind === "redirect" && !/^https?:\/\//.test(outcome.redirectUrl)) {
    throw new Error("redirectUrl must be an absolute http(s) URL");
  }
}

function validateOperationOutcome(check: (code: number) => boolean) {
  return (outcome: OperationOutcome) => {
    if (outcome.kind === "declined" && !check(outcome.reasonCode)) {
      throw new Error(`reasonCode ${outcome.reasonCode} is not allowed here`);
    }
  };
}

function validateConnectOutcome(outcome: ConnectOutcome): void {
  if (outcome.kind === "declined") return;
  if (!outcome.accountId || typeof outcome.accountId !== "string") {
    throw new Error("accountId is required");
  }
  for (const value of Object.values(outcome.credentials ?? {})) {
    if (typeof value !== "string") throw new Error("credentials values must be strings");
  }
}

/** Builds the payment operations over one KV, processor and outbox. */
export function createPayments(options: PaymentsOptions): Payments {
  const { kv, processor, outbox, logger } = options;
  /** {@link atomicRetry} that announces the webhooks a committed operation owed. */
  const commitRetry = <T>(attempt: () => Promise<AtomicStep<T>>) =>
    atomicRetry(attempt, outbox.committed);

  /** Repeats `attempt` while it reports another request holds the key, up to the wait limit. */
  async function untilSettled<T>(attempt: () => Promise<T | Busy>): Promise<T> {
    const deadline = Date.now() + options.inFlightWaitMs;
    let pause = 5;
    while (true) {
      const result = await attempt();
      if (result !== BUSY) return result;
      if (Date.now() >= deadline) {
        throw new HttpError(
          503,
          "in_progress",
          "an identical request is still being processed; retry later",
          { "retry-after": "1" },
        );
      }
      await sleep(pause);
      pause = Math.min(pause * 1.5, 100);
    }
  }

  /** Calls the processor; on a throw or an invalid outcome, releases the claim and answers 503. */
  async function callProcessor<T>(
    what: string,
    fields: Record<string, unknown>,
    call: () => Promise<T>,
    validate: (outcome: T) => void,
    release: () => Promise<void>,
  ): Promise<T> {
    try {
      const outcome = await call();
      validate(outcome);
      return outcome;
    } catch (error) {
      logger.error("processor call failed", {
        operation: what,
        processor: processor.name,
        ...fields,
        error,
      });
      await release();
      throw new HttpError(
        503,
        "processor_error",
        `the payment processor failed (${what}); retry later`,
        {
          "retry-after": "1",
        },
      );
    }
  }

  function writeChange(op: Deno.AtomicOperation, change: Change, now: number): TransactionRecord {
    for (const event of change.events) {
      outbox.owe(op, change.next, event.kind, event.phase, transactionEvent(change.next), now);
    }
    for (const { job, dueAt } of change.jobs) scheduleJob(op, job, dueAt);
    op.set(kvKeys.transaction(change.next.wixTransactionId), change.next);
    return change.next;
  }

  async function recordPaymentOutcome(
    wixTransactionId: string,
    outcome: AppliedOutcome,
    source: string,
    { claimToken, onlyFrom }: RecordOptions = {},
  ): Promise<OutcomeResult | { kind: "lost_claim" }> {
    const key = kvKeys.transaction(wixTransactionId);
    return await commitRetry<OutcomeResult | { kind: "lost_claim" }>(async () => {
      const now = Date.now();
      const entry = await kv.get<TransactionRecord>(key);
      const tx = entry.value;
      if (!tx) return { done: { kind: "not_found" } };
      if (claimToken !== undefined) {
        if (tx.status !== "processing" || tx.claim?.token !== claimToken) {
          return { done: { kind: "lost_claim" as const } };
        }
      } else if (tx.status === "processing") {
        return { done: { kind: "busy" as const, tx } };
      }
      if (onlyFrom && !onlyFrom.includes(tx.status)) {
        return {
          done: {
            kind: "rejected" as const,
            tx,
            reason: `the transaction is no longer ${onlyFrom.join(" or ")}`,
          },
        };
      }
      const plan = planOutcome(tx, outcome, now, source, options.redirectAbandonAfterMs);
      if ("unchanged" in plan) return { done: { kind: "unchanged" as const, tx } };
      if ("rejected" in plan) {
        return { done: { kind: "rejected" as const, tx, reason: plan.rejected } };
      }
      const op = kv.atomic().check(entry);
      const next = writeChange(op, plan.change, now);
      return { commit: op, value: { kind: "changed" as const, tx: next } };
    });
  }

  /**
   * Releases the claim `token` on the record at `key` (if it still holds it), so that the next
   * retry takes over at once. `holderOf` finds the claimed part of the record.
   */
  async function releaseClaim<R>(
    key: Deno.KvKey,
    token: string,
    holderOf: (record: R) => { status: string; claim?: Claim } | undefined,
    withClaim: (record: R, claim: Claim) => R,
  ): Promise<void> {
    await atomicRetry(async () => {
      const entry = await kv.get<R>(key);
      const holder = entry.value === null ? undefined : holderOf(entry.value);
      if (!holder || holder.status !== "processing" || holder.claim?.token !== token) {
        return { done: undefined };
      }
      const released = withClaim(entry.value!, { token, at: 0 });
      return { commit: kv.atomic().check(entry).set(key, released), value: undefined };
    });
  }

  async function connectAccount(request: ConnectAccountRequest): Promise<SpiBody> {
    if (request.currency !== undefined && !isSupportedCurrency(request.currency)) {
      return declineBody(
        reason(
          "CURRENCY_MISMATCH",
          `Currency ${request.currency} is not supported`,
          "CURRENCY_NOT_SUPPORTED",
        ),
      );
    }
    const outcome = await callProcessor(
      "connectAccount",
      { wixMerchantId: request.wixMerchantId },
      () => processor.connectAccount(request),
      validateConnectOutcome,
      async () => {},
    );
    if (outcome.kind === "declined") return declineBody(outcome);
    const merchant: MerchantRecord = {
      wixMerchantId: request.wixMerchantId,
      accountId: outcome.accountId,
      accountName: outcome.accountName,
      connectedAt: Date.now(),
    };
    await kv.set(kvKeys.merchant(request.wixMerchantId), merchant);
    // Keys may be added but never removed or renamed (spec §2.1).
    const credentials = { ...request.credentials, ...outcome.credentials };
    return { credentials, accountId: outcome.accountId, accountName: outcome.accountName };
  }

  function newTransaction(
    request: CreateTransactionRequest,
    fingerprint: string,
    now: number,
    claim: Claim,
  ): TransactionRecord {
    const description = request.order.description;
    return {
      wixTransactionId: request.wixTransactionId,
      wixMerchantId: request.wixMerchantId,
      status: "processing",
      claim,
      fingerprint,
      amount: description.totalAmount,
      currency: description.currency,
      authorizeOnly: request.authorizeOnly,
      paymentMethod: request.paymentMethod,
      card: cardDetailsOf(request),
      installments: Math.max(request.installments ?? 1, 1),
      paymentType: paymentTypeOf(request),
      returnUrls: request.order.returnUrls,
      order: {
        id: request.order.id,
        items: (description.items ?? []).slice(0, 50).map((item) => ({
          name: (item.name ?? "Item").slice(0, 200),
          quantity: item.quantity ?? 1,
          price: item.price,
        })),
      },
      capturedAmount: 0,
      refundedAmount: 0,
      reservedRefundAmount: 0,
      webhookSeq: 0,
      history: [{ status: "processing", at: now, source: "wix" }],
      createdAt: now,
      updatedAt: now,
    };
  }

  async function createTransaction(request: CreateTransactionRequest): Promise<SpiBody> {
    const id = request.wixTransactionId;
    const key = kvKeys.transaction(id);
    const fingerprint = await paymentFingerprint(request);
    return await untilSettled(async () => {
      const now = Date.now();
      const claim: Claim = { token: crypto.randomUUID(), at: now };
      const step = await commitRetry<ClaimStep<TransactionRecord, TransactionRecord> | Busy>(
        async () => {
          const entry = await kv.get<TransactionRecord>(key);
          const tx = entry.value;
          if (tx) {
            if (tx.fingerprint !== fingerprint) throw conflict(`wixTransactionId ${id}`);
            if (tx.status !== "processing") return { done: { settled: tx } };
            if (!claimExpired(tx.claim, now, options.processingLeaseMs)) return { done: BUSY };
            const taken = { ...tx, claim };
            return { commit: kv.atomic().check(entry).set(key, taken), value: { claimed: taken } };
          }
          const fresh = newTransaction(request, fingerprint, now, claim);
          if (!isSupportedCurrency(fresh.currency)) {
            // Declined by the service itself; the processor is never asked (spec §6.2 item 2).
            const decline = reason(
              "CURRENCY_NOT_SUPPORTED",
              `Currency ${fresh.currency} is not supported`,
            );
            const plan = planOutcome(fresh, { kind: "declined", ...decline }, now, "service", 0);
            if (!("change" in plan)) throw new Error("a new transaction must accept a decline");
            const op = kv.atomic().check(entry);
            return { commit: op, value: { settled: writeChange(op, plan.change, now) } };
          }
          return { commit: kv.atomic().check(entry).set(key, fresh), value: { claimed: fresh } };
        },
      );
      if (step === BUSY) return BUSY;
      if ("settled" in step) return transactionResponse(step.settled);

      const outcome = await callProcessor(
        "createPayment",
        { wixTransactionId: id },
        () => processor.createPayment(paymentInput(request, step.claimed)),
        validatePaymentOutcome,
        () =>
          releaseClaim<TransactionRecord>(
            key,
            claim.token,
            (tx) => tx,
            (tx, released) => ({ ...tx, claim: released }),
          ),
      );
      const result = await recordPaymentOutcome(id, outcome, "processor", {
        claimToken: claim.token,
      });
      if (result.kind === "changed" || result.kind === "unchanged") {
        return transactionResponse(result.tx);
      }
      if (result.kind === "rejected") {
        throw new Error(`processor outcome refused: ${result.reason}`);
      }
      return BUSY; // our claim was taken over; answer from whatever the new holder records
    });
  }

  /** Why a Wix refund must be declined without asking the processor, if it must. */
  function refundRefusal(
    tx: TransactionRecord | null,
    request: RefundTransactionRequest,
  ): Decline | undefined {
    if (!tx) {
      return reason(
        "REFUND_NOT_ALLOWED",
        `transaction ${request.wixTransactionId} is unknown`,
        "TRANSACTION_NOT_FOUND",
      );
    }
    if (
      request.pluginTransactionId && tx.pluginTransactionId &&
      request.pluginTransactionId !== tx.pluginTransactionId
    ) {
      return reason(
        "REFUND_NOT_ALLOWED",
        "pluginTransactionId does not match the transaction",
        "TRANSACTION_MISMATCH",
      );
    }
    if (tx.status !== "approved" && tx.status !== "captured") {
      return reason(
        "REFUND_NOT_ALLOWED",
        `the transaction is ${tx.status}; only approved or captured payments can be refunded`,
        "TRANSACTION_NOT_REFUNDABLE",
      );
    }
    return balanceRefusal(tx, request.refundAmount);
  }

  async function refundTransaction(request: RefundTransactionRequest): Promise<SpiBody> {
    const amount = request.refundAmount;
    const txKey = kvKeys.transaction(request.wixTransactionId);
    const indexKey = kvKeys.refundByWixId(request.wixRefundId);
    return await untilSettled(async () => {
      const now = Date.now();
      const claim: Claim = { token: crypto.randomUUID(), at: now };
      const step = await commitRetry<ClaimStep<RefundRecord, RefundRecord> | Busy>(async () => {
        const indexEntry = await kv.get<string>(indexKey);
        if (indexEntry.value !== null) {
          const refundKey = kvKeys.refund(indexEntry.value);
          const entry = await kv.get<RefundRecord>(refundKey);
          const refund = entry.value!;
          if (refund.wixTransactionId !== request.wixTransactionId || refund.amount !== amount) {
            throw conflict(`wixRefundId ${request.wixRefundId}`);
          }
          if (refund.status !== "processing") return { done: { settled: refund } };
          if (!claimExpired(refund.claim, now, options.processingLeaseMs)) return { done: BUSY };
          const taken = { ...refund, claim };
          return {
            commit: kv.atomic().check(entry).set(refundKey, taken),
            value: { claimed: taken },
          };
        }
        const txEntry = await kv.get<TransactionRecord>(txKey);
        const tx = txEntry.value;
        const decline = refundRefusal(tx, request);
        const refund: RefundRecord = {
          pluginRefundId: newRefundId(),
          wixRefundId: request.wixRefundId,
          wixTransactionId: request.wixTransactionId,
          amount,
          initiator: "wix",
          status: decline ? "failed" : "processing",
          claim: decline ? undefined : claim,
          decline,
          createdAt: now,
          updatedAt: now,
        };
        const op = kv.atomic().check(indexEntry, txEntry)
          .set(indexKey, refund.pluginRefundId)
          .set(kvKeys.refund(refund.pluginRefundId), refund)
          .set(kvKeys.transactionRefund(refund.wixTransactionId, refund.pluginRefundId), null);
        if (!tx) return { commit: op, value: { settled: refund } }; // no transaction: no webhook
        const next = { ...tx, updatedAt: now };
        if (decline) {
          outbox.owe(op, next, "refund", "final", refundEvent(refund), now);
        } else {
          next.reservedRefundAmount += amount;
        }
        op.set(txKey, next);
        return { commit: op, value: decline ? { settled: refund } : { claimed: refund } };
      });
      if (step === BUSY) return BUSY;
      if ("settled" in step) return refundResponse(step.settled);

      const refund = step.claimed;
      const tx = (await kv.get<TransactionRecord>(txKey)).value!;
      const outcome = await callProcessor(
        "refund",
        { wixTransactionId: refund.wixTransactionId, pluginRefundId: refund.pluginRefundId },
        () =>
          processor.refund({
            pluginRefundId: refund.pluginRefundId,
            wixRefundId: refund.wixRefundId,
            wixTransactionId: refund.wixTransactionId,
            pluginTransactionId: tx.pluginTransactionId ?? "",
            amount,
            currency: tx.currency,
            merchantCredentials: request.merchantCredentials,
            reason: request.reason,
          }),
        validateOperationOutcome(isRefundDeclineCode),
        () =>
          releaseClaim<RefundRecord>(
            kvKeys.refund(refund.pluginRefundId),
            claim.token,
            (record) => record,
            (record, released) => ({ ...record, claim: released }),
          ),
      );
      const settled = await recordRefundOutcome(refund.pluginRefundId, outcome, claim.token);
      return settled ? refundResponse(settled) : BUSY;
    });
  }

  /** Records the processor's answer to a claimed refund; `undefined` if the claim was lost. */
  async function recordRefundOutcome(
    pluginRefundId: string,
    outcome: OperationOutcome,
    token: string,
  ): Promise<RefundRecord | undefined> {
    const key = kvKeys.refund(pluginRefundId);
    return await commitRetry(async () => {
      const now = Date.now();
      const entry = await kv.get<RefundRecord>(key);
      const refund = entry.value!;
      if (refund.status !== "processing" || refund.claim?.token !== token) {
        return { done: undefined };
      }
      const txKey = kvKeys.transaction(refund.wixTransactionId);
      const txEntry = await kv.get<TransactionRecord>(txKey);
      const tx = txEntry.value!;
      const succeeded = outcome.kind === "succeeded";
      const settled: RefundRecord = {
        ...refund,
        status: succeeded ? "succeeded" : "failed",
        claim: undefined,
        decline: succeeded ? undefined : declineOf(outcome),
        updatedAt: now,
      };
      const next: TransactionRecord = {
        ...tx,
        reservedRefundAmount: tx.reservedRefundAmount - refund.amount,
        refundedAmount: tx.refundedAmount + (succeeded ? refund.amount : 0),
        updatedAt: now,
      };
      const op = kv.atomic().check(entry, txEntry).set(key, settled);
      outbox.owe(op, next, "refund", "final", refundEvent(settled), now);
      op.set(txKey, next);
      return { commit: op, value: settled };
    });
  }

  /** Capture and void share one flow; they differ in the amount rule and the status reached. */
  async function operateOnAuthorization(
    kind: "capture" | "void",
    request: {
      wixTransactionId: string;
      pluginTransactionId?: string;
      merchantCredentials: Record<string, string>;
    },
    amount: number,
  ): Promise<SpiBody> {
    const other = kind === "capture" ? "void" : "capture";
    const key = kvKeys.transaction(request.wixTransactionId);
    return await untilSettled(async () => {
      const now = Date.now();
      const claim: Claim = { token: crypto.randomUUID(), at: now };
      const step = await commitRetry<ClaimStep<SpiBody, TransactionRecord> | Busy>(async () => {
        const entry = await kv.get<TransactionRecord>(key);
        const tx = entry.value;
        if (!tx) {
          return {
            done: {
              settled: declineBody(
                reason(
                  "REQUEST_NOT_ALLOWED",
                  `transaction ${request.wixTransactionId} is unknown`,
                  "TRANSACTION_NOT_FOUND",
                ),
              ),
            },
          };
        }
        const mine = tx[kind];
        if (mine) {
          if (mine.amount !== amount) throw conflict(`${kind} of ${request.wixTransactionId}`);
          if (mine.status !== "processing") return { done: { settled: operationResponse(mine) } };
          if (!claimExpired(mine.claim, now, options.processingLeaseMs)) return { done: BUSY };
        } else if (tx[other]?.status === "processing") {
          return { done: BUSY };
        } else {
          const refusal = operationRefusal(kind, tx, request.pluginTransactionId, amount);
          // A refusal changes nothing and owes no webhook: the state Wix knows is unchanged.
          if (refusal) return { done: { settled: declineBody(refusal) } };
        }
        const next: TransactionRecord = {
          ...tx,
          [kind]: { status: "processing", amount, claim, at: now } satisfies OperationRecord,
          updatedAt: now,
        };
        return { commit: kv.atomic().check(entry).set(key, next), value: { claimed: next } };
      });
      if (step === BUSY) return BUSY;
      if ("settled" in step) return step.settled;

      const tx = step.claimed;
      const input = {
        wixTransactionId: tx.wixTransactionId,
        pluginTransactionId: tx.pluginTransactionId ?? "",
        amount,
        currency: tx.currency,
        merchantCredentials: request.merchantCredentials,
      };
      const outcome = await callProcessor(
        kind,
        { wixTransactionId: tx.wixTransactionId },
        () => kind === "capture" ? processor.capture(input) : processor.void(input),
        validateOperationOutcome(isPaymentDeclineCode),
        () =>
          releaseClaim<TransactionRecord>(
            key,
            claim.token,
            (record) => record[kind],
            (record, released) => ({ ...record, [kind]: { ...record[kind]!, claim: released } }),
          ),
      );
      const settled = await recordOperationOutcome(kind, tx.wixTransactionId, outcome, claim.token);
      return settled ? operationResponse(settled) : BUSY;
    });
  }

  async function recordOperationOutcome(
    kind: "capture" | "void",
    wixTransactionId: string,
    outcome: OperationOutcome,
    token: string,
  ): Promise<OperationRecord | undefined> {
    const key = kvKeys.transaction(wixTransactionId);
    return await commitRetry(async () => {
      const now = Date.now();
      const entry = await kv.get<TransactionRecord>(key);
      const tx = entry.value!;
      const operation = tx[kind];
      if (!operation || operation.status !== "processing" || operation.claim?.token !== token) {
        return { done: undefined };
      }
      const succeeded = outcome.kind === "succeeded";
      const settled: OperationRecord = {
        status: succeeded ? "succeeded" : "declined",
        amount: operation.amount,
        decline: succeeded ? undefined : declineOf(outcome),
        at: now,
      };
      const next: TransactionRecord = { ...tx, [kind]: settled, updatedAt: now };
      if (succeeded) {
        const status: TransactionStatus = kind === "capture" ? "captured" : "voided";
        const check = checkTransition(tx.status, status);
        if (!check.ok) throw new Error(check.reason); // impossible: the claim required "authorized"
        next.status = status;
        next.history = [...tx.history, { status, at: now, source: "processor" }].slice(-20);
        if (kind === "capture") next.capturedAmount = operation.amount;
      }
      const op = kv.atomic().check(entry);
      outbox.owe(op, next, kind, "final", operationEvent(kind, next, settled), now);
      op.set(key, next);
      return { commit: op, value: settled };
    });
  }

  async function recordPspRefund(
    wixTransactionId: string,
    amount: number,
    pluginRefundId = newRefundId(),
  ): Promise<PspRefundResult> {
    const refundKey = kvKeys.refund(pluginRefundId);
    const txKey = kvKeys.transaction(wixTransactionId);
    return await commitRetry<PspRefundResult>(async () => {
      const now = Date.now();
      const [refundEntry, txEntry] = await kv.getMany<[RefundRecord, TransactionRecord]>([
        refundKey,
        txKey,
      ]);
      const existing = refundEntry.value;
      if (existing) {
        const same = existing.initiator === "psp" &&
          existing.wixTransactionId === wixTransactionId &&
          existing.amount === amount;
        return {
          done: same ? { kind: "existing", refund: existing } : {
            kind: "conflict",
            message: `pluginRefundId ${pluginRefundId} belongs to another refund`,
          },
        };
      }
      const tx = txEntry.value;
      if (!tx) return { done: { kind: "not_found" } };
      if (tx.status !== "approved" && tx.status !== "captured") {
        return {
          done: {
            kind: "refused",
            message:
              `the transaction is ${tx.status}; only approved or captured payments can be refunded`,
          },
        };
      }
      const refusal = balanceRefusal(tx, amount);
      if (refusal) return { done: { kind: "refused", message: refusal.errorMessage! } };
      const refund: RefundRecord = {
        pluginRefundId,
        wixTransactionId,
        amount,
        initiator: "psp",
        status: "succeeded",
        createdAt: now,
        updatedAt: now,
      };
      const next: TransactionRecord = {
        ...tx,
        refundedAmount: tx.refundedAmount + amount,
        updatedAt: now,
      };
      const op = kv.atomic().check(refundEntry, txEntry)
        .set(refundKey, refund)
        .set(kvKeys.transactionRefund(wixTransactionId, pluginRefundId), null);
      outbox.owe(op, next, "refund", "final", refundEvent(refund), now);
      op.set(txKey, next);
      return { commit: op, value: { kind: "created", refund } };
    });
  }

  return {
    recordPspRefund,
    connectAccount,
    createTransaction,
    refundTransaction,
    captureTransaction: (request) =>
      operateOnAuthorization("capture", request, request.captureAmount),
    voidTransaction: (request) => operateOnAuthorization("void", request, request.voidAmount),
    async recordPaymentOutcome(wixTransactionId, outcome, source, onlyFrom) {
      const result = await recordPaymentOutcome(wixTransactionId, outcome, source, { onlyFrom });
      if (result.kind === "lost_claim") throw new Error("unreachable: no claim token was given");
      return result;
    },
  };
}

/** Why a refund of `amount` exceeds what is left to refund, if it does. */
export function balanceRefusal(tx: TransactionRecord, amount: number): Decline | undefined {
  const remaining = tx.capturedAmount - tx.refundedAmount;
  const refundable = remaining - tx.reservedRefundAmount;
  if (remaining <= 0) {
    return reason("PAYMENT_ALREADY_REFUNDED", "the payment is already fully refunded");
  }
  if (amount > refundable) {
    return reason(
      "REFUND_NOT_ALLOWED",
      `refund of ${amount} exceeds the refundable balance of ${refundable}`,
      "REFUND_EXCEEDS_BALANCE",
    );
  }
  return undefined;
}

/** Why a capture or void must be declined without asking the processor, if it must. */
function operationRefusal(
  kind: "capture" | "void",
  tx: TransactionRecord,
  pluginTransactionId: string | undefined,
  amount: number,
): Decline | undefined {
  if (tx.capture?.status === "succeeded") {
    return reason(
      "TRANSACTION_ACTION_ALREADY_COMMITTED",
      "the transaction was already captured",
      "TRANSACTION_ALREADY_CAPTURED",
    );
  }
  if (tx.void?.status === "succeeded") {
    return reason(
      "TRANSACTION_ACTION_ALREADY_COMMITTED",
      "the transaction was already voided",
      "TRANSACTION_ALREADY_VOIDED",
    );
  }
  if (tx.status !== "authorized") {
    return reason(
      "REQUEST_NOT_ALLOWED",
      `the transaction is ${tx.status}; only a transaction authorized with authorizeOnly can be ${
        kind === "capture" ? "captured" : "voided"
      }`,
      "TRANSACTION_NOT_AUTHORIZED",
    );
  }
  if (
    pluginTransactionId && tx.pluginTransactionId && pluginTransactionId !== tx.pluginTransactionId
  ) {
    return reason(
      "INVALID_VALUE",
      "pluginTransactionId does not match the transaction",
      "TRANSACTION_MISMATCH",
    );
  }
  if (kind === "capture" && amount > tx.amount) {
    return reason(
      "INVALID_AMOUNT",
      `captureAmount ${amount} exceeds the authorized amount ${tx.amount}`,
    );
  }
  if (kind === "void" && amount !== tx.amount) {
    return reason(
      "INVALID_AMOUNT",
      `voidAmount ${amount} must equal the authorized amount ${tx.amount}`,
    );
  }
  return undefined;
}

function declineOf(outcome: Decline): Decline {
  return {
    reasonCode: outcome.reasonCode,
    errorCode: outcome.errorCode,
    errorMessage: outcome.errorMessage,
  };
}

/** A new `pluginRefundId`. */
export function newRefundId(): string {
  return `rf_${crypto.randomUUID()}`;
}
