/**
 * The state machines of everything whose status changes: transactions, refunds, and the
 * capture or void of an authorization. Each is a closed union of statuses with one table of
 * allowed transitions, and the `move*` functions here are the only writers of a status (and of
 * a transaction's history), so a change that would contradict an earlier final state cannot be
 * written.
 * @module
 */

/** A transaction's status as this service tracks it. */
export type TransactionStatus =
  /** Claimed by a request; the processor is being asked. Never reported to Wix. */
  | "processing"
  /** The processor answered pending (5005/5009); the final outcome comes later. */
  | "pending"
  /** The buyer must act on a redirect page (3-D Secure, hosted page). */
  | "awaiting_buyer"
  /** Approved without capture (`authorizeOnly`); capture or void follows. */
  | "authorized"
  /** Approved and charged. */
  | "approved"
  /** Authorized, then captured. */
  | "captured"
  /** Authorized, then voided. */
  | "voided"
  /** Declined by the processor or by this service. */
  | "declined"
  /** Canceled by the buyer or abandoned (3030). */
  | "canceled";

const TRANSITIONS: Record<TransactionStatus, readonly TransactionStatus[]> = {
  processing: ["pending", "awaiting_buyer", "authorized", "approved", "declined", "canceled"],
  awaiting_buyer: ["pending", "authorized", "approved", "declined", "canceled"],
  pending: ["authorized", "approved", "declined", "canceled"],
  authorized: ["captured", "voided"],
  approved: [],
  captured: [],
  voided: [],
  declined: [],
  canceled: [],
};

/** Every transaction status. */
export const TRANSACTION_STATUSES = Object.keys(TRANSITIONS) as readonly TransactionStatus[];

/** The result of checking a transition. */
export type TransitionCheck = { ok: true } | { ok: false; reason: string };

/** "an" before a status that starts with a vowel ("an approved"), "a" otherwise. */
const article = (status: string) => /^[aeiou]/.test(status) ? "an" : "a";

/** Whether `from -> to` is allowed. Staying in the same status is not a transition. */
export function checkTransition(from: TransactionStatus, to: TransactionStatus): TransitionCheck {
  if (TRANSITIONS[from].includes(to)) return { ok: true };
  return { ok: false, reason: `${article(from)} ${from} transaction cannot become ${to}` };
}

/** True when the payment outcome is settled (approved, declined, canceled or later). */
export function isFinalPaymentStatus(status: TransactionStatus): boolean {
  return !["processing", "pending", "awaiting_buyer"].includes(status);
}

/** True when the payment was approved at some point (money authorized or taken). */
export function wasApproved(status: TransactionStatus): boolean {
  return ["authorized", "approved", "captured", "voided"].includes(status);
}

/**
 * What Wix has been (or will be) told about the payment by transaction events: nothing yet,
 * pending, or a final approval or decline. Used to order and de-duplicate webhooks.
 */
export type WixPaymentPhase = "none" | "pending" | "final";

/** The phase a status shows to Wix through transaction events. */
export function wixPhaseOf(status: TransactionStatus): WixPaymentPhase {
  if (status === "pending") return "pending";
  if (status === "processing" || status === "awaiting_buyer") return "none";
  return "final";
}

/** A refund's status. A refund refused before the processor is asked starts as `failed`. */
export type RefundStatus = "processing" | "succeeded" | "failed";

/** The status of a capture or a void of an authorization. */
export type OperationStatus = "processing" | "succeeded" | "declined";

const REFUND_TRANSITIONS: Record<RefundStatus, readonly RefundStatus[]> = {
  processing: ["succeeded", "failed"],
  succeeded: [],
  failed: [],
};

const OPERATION_TRANSITIONS: Record<OperationStatus, readonly OperationStatus[]> = {
  processing: ["succeeded", "declined"],
  succeeded: [],
  declined: [],
};

/** Raised when code tries a transition the tables forbid: a bug, never a request's fault. */
export class IllegalTransition extends Error {
  constructor(what: string, from: string, to: string) {
    super(`${article(from)} ${from} ${what} cannot become ${to}`);
    this.name = "IllegalTransition";
  }
}

/** How many status changes a transaction's history keeps. */
const HISTORY_LIMIT = 20;

/** What {@link moveTransaction} needs of a transaction record. */
interface HasStatusHistory {
  status: TransactionStatus;
  history: { status: TransactionStatus; at: number; source: string }[];
  updatedAt: number;
}

/**
 * `tx` moved to `to` at `now` by `source`, with the change in its history; throws
 * {@link IllegalTransition} when the table forbids it (callers check first with
 * {@link checkTransition} where a request may ask for a forbidden change).
 */
export function moveTransaction<T extends HasStatusHistory>(
  tx: T,
  to: TransactionStatus,
  now: number,
  source: string,
): T {
  if (!checkTransition(tx.status, to).ok) throw new IllegalTransition("transaction", tx.status, to);
  const history = [...tx.history, { status: to, at: now, source }].slice(-HISTORY_LIMIT);
  return { ...tx, status: to, history, updatedAt: now };
}

/** `refund` settled as `to` at `now`; throws {@link IllegalTransition} when not allowed. */
export function moveRefund<T extends { status: RefundStatus; updatedAt: number }>(
  refund: T,
  to: RefundStatus,
  now: number,
): T {
  if (!REFUND_TRANSITIONS[refund.status].includes(to)) {
    throw new IllegalTransition("refund", refund.status, to);
  }
  return { ...refund, status: to, updatedAt: now };
}

/** A capture or void settled as `to`; throws {@link IllegalTransition} when not allowed. */
export function moveOperation<T extends { status: OperationStatus }>(
  operation: T,
  to: OperationStatus,
): T {
  if (!OPERATION_TRANSITIONS[operation.status].includes(to)) {
    throw new IllegalTransition("capture or void", operation.status, to);
  }
  return { ...operation, status: to };
}
