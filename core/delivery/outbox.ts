/**
 * The outbox: every webhook a state change owes is written in the same KV atomic operation as
 * the change itself, so a crash can never leave one without the other. The record is the
 * truth. Once the operation commits, the owed records are announced so that this process
 * delivers them at once; the due-time index lets the sweeper find anything an announcement
 * missed (a crash right after the commit, another process). Retries travel on the KV queue
 * (`worker.ts`). A webhook's first attempt is due after the retry schedule's first delay.
 * @module
 */

import { kvKeys } from "../store/mod.ts";
import type { SubmitEventBody, WebhookKind, WebhookRecord } from "./records.ts";
import { firstAttemptDelay } from "./retry_policy.ts";

/** What the outbox needs of the record that owes a webhook: its id and webhook sequence. */
export interface OwingRecord {
  wixTransactionId: string;
  /** The sequence number of the last webhook this record owed; bumped by each `owe`. */
  webhookSeq: number;
}

/** The queue message that points delivery at one outbox record. */
export interface WebhookQueueMessage {
  type: "webhook";
  id: string;
}

/** Records owed webhooks into atomic operations, and announces them once committed. */
export interface Outbox {
  /**
   * Adds the webhook owed by a change of `tx` to `op` and bumps `tx.webhookSeq`; the caller
   * writes `tx` in the same operation. Returns the new record's id.
   */
  owe(
    op: Deno.AtomicOperation,
    tx: OwingRecord,
    kind: WebhookKind,
    phase: "pending" | "final",
    body: SubmitEventBody,
    now: number,
  ): string;
  /** Announces the webhooks `op` owed; call it only after `op` committed, at `versionstamp`. */
  committed(op: Deno.AtomicOperation, versionstamp: string): void;
}

/** A sortable, unique webhook id (time first, then randomness). */
export function newWebhookId(now: number): string {
  const random = crypto.getRandomValues(new Uint8Array(6)).toHex();
  return `wh_${now.toString(36).padStart(9, "0")}_${random}`;
}

/** Where owed webhooks are announced: the delivery worker of this process. */
export interface OutboxListener {
  /** True when this process has no Wix to deliver to: its records are marked `heldWithoutWix`. */
  holds?: boolean;
  /**
   * A lease for a record this process will attempt as soon as it commits, or `undefined`.
   * Writing the record already leased saves the separate lease write of a first attempt.
   */
  leaseForFirstAttempt(now: number): { owner: string; until: number } | undefined;
  /** Called once the operation that owed `record` has committed (at `versionstamp`). */
  owed(record: WebhookRecord, versionstamp: string): void;
}

/**
 * Creates the outbox. With a `listener`, each owed record is announced once its operation has
 * committed, and a transaction's first webhook due at once is written already leased to the
 * listener (nothing earlier can be owed, so the ordering rules have nothing to check). Each
 * record's first attempt is due after the first delay of `retrySchedule`.
 */
export function createOutbox(listener?: OutboxListener, retrySchedule: number[] = [0]): Outbox {
  const owedBy = new WeakMap<Deno.AtomicOperation, WebhookRecord[]>();
  return {
    owe(op, tx, kind, phase, body, now) {
      tx.webhookSeq += 1;
      const id = newWebhookId(now);
      const dueAt = now + firstAttemptDelay(retrySchedule);
      const record: WebhookRecord = {
        id,
        wixTransactionId: tx.wixTransactionId,
        seq: tx.webhookSeq,
        kind,
        phase,
        body,
        state: "queued",
        attemptCount: 0,
        attempts: [],
        nextAttemptAt: dueAt,
        createdAt: now,
      };
      const preLease = tx.webhookSeq === 1 && dueAt === now;
      const lease = preLease ? listener?.leaseForFirstAttempt(now) : undefined;
      if (lease) record.lease = lease;
      if (listener?.holds) record.heldWithoutWix = true;
      op.set(kvKeys.webhook(id), record)
        .set(kvKeys.transactionWebhook(tx.wixTransactionId, tx.webhookSeq), id)
        .set(kvKeys.webhookDue(dueAt, id), null);
      owedBy.set(op, [...owedBy.get(op) ?? [], record]);
      return id;
    },
    committed(op, versionstamp) {
      for (const record of owedBy.get(op) ?? []) listener?.owed(record, versionstamp);
      owedBy.delete(op);
    },
  };
}
