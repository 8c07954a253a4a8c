/**
 * The payment state machine: a closed union of statuses and the one table of allowed
 * transitions. Every status change in the service goes through {@link checkTransition}, so a
 * change that would contradict an earlier final state cannot be written.
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

/** The result of checking a transition. */
export type TransitionCheck = { ok: true } | { ok: false; reason: string };

/** Whether `from -> to` is allowed. Staying in the same status is not a transition. */
export function checkTransition(from: TransactionStatus, to: TransactionStatus): TransitionCheck {
  if (TRANSITIONS[from].includes(to)) return { ok: true };
  return { ok: false, reason: `a ${from} transaction cannot become ${to}` };
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
