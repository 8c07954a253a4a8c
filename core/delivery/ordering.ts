/**
 * The ordering rules of one transaction's webhooks (spec §3.4), pure: records go out in the
 * order they were owed, and a pending transaction event still owed when a final one exists is
 * superseded rather than sent after it, so Wix never sees a payment go back in time.
 * @module
 */

import type { WebhookRecord } from "./records.ts";

/** What the ordering rules decide for one record among its transaction's records. */
export type DeliveryPlan =
  /** Send it, first marking these earlier pending events as superseded. */
  | { action: "deliver"; supersede: string[] }
  /** An earlier record must settle first; look again at `until`. */
  | { action: "wait"; until: number; blockedBy: string }
  /** Never send it: a final transaction event exists, so this pending one would go back in time. */
  | { action: "supersede"; reason: string };

/** A pending transaction event (5005/5009). */
export const isPendingTxEvent = (r: WebhookRecord) =>
  r.kind === "transaction" && r.phase === "pending";
/** A final transaction event (approved, declined, ...). */
export const isFinalTxEvent = (r: WebhookRecord) => r.kind === "transaction" && r.phase === "final";
/** Whether someone holds a lease on `r` at `now`. */
export const isLeased = (r: WebhookRecord, now: number) =>
  r.lease !== undefined && r.lease.until > now;

/** Whether a final transaction event was owed after the pending event `record`. */
export function isSupersededPending(records: WebhookRecord[], record: WebhookRecord): boolean {
  return isPendingTxEvent(record) && records.some((r) => r.seq > record.seq && isFinalTxEvent(r));
}

/** The plan for `target` among its transaction's `records` (sorted by `seq`) at `now`. */
export function planDelivery(
  records: WebhookRecord[],
  target: WebhookRecord,
  now: number,
): DeliveryPlan {
  if (isSupersededPending(records, target)) {
    return {
      action: "supersede",
      reason: "a final transaction event was owed after this pending one",
    };
  }
  const finalUpToTarget = records.some((r) => r.seq <= target.seq && isFinalTxEvent(r));
  const supersede: string[] = [];
  let wait: { until: number; blockedBy: string } | undefined;
  for (const earlier of records) {
    if (earlier.seq >= target.seq || earlier.state !== "queued") continue;
    if (isPendingTxEvent(earlier) && finalUpToTarget && !isLeased(earlier, now)) {
      supersede.push(earlier.id);
      continue;
    }
    const until = isLeased(earlier, now) ? earlier.lease!.until : earlier.nextAttemptAt;
    if (!wait || until < wait.until) wait = { until, blockedBy: earlier.id };
  }
  if (wait) return { action: "wait", ...wait };
  return { action: "deliver", supersede };
}
