/**
 * The outbox: every webhook a state change owes is written in the same KV atomic operation as
 * the change itself, so a crash can never leave one without the other. The record is the
 * truth; a queue message (when the KV has queues) only says "look at record X now", and the
 * due-time index lets the sweeper find anything the queue missed.
 * @module
 */

import { kvKeys } from "./kv_keys.ts";
import type { SubmitEventBody, TransactionRecord, WebhookKind, WebhookRecord } from "./store.ts";

/** The queue message that points delivery at one outbox record. */
export interface WebhookQueueMessage {
  type: "webhook";
  id: string;
}

/** Records owed webhooks into atomic operations. */
export interface Outbox {
  /** True when owed webhooks are also announced on the KV queue. */
  readonly usesQueue: boolean;
  /**
   * Adds the webhook owed by a change of `tx` to `op` and bumps `tx.webhookSeq`; the caller
   * writes `tx` in the same operation. Returns the new record's id.
   */
  owe(
    op: Deno.AtomicOperation,
    tx: TransactionRecord,
    kind: WebhookKind,
    phase: "pending" | "final",
    body: SubmitEventBody,
    now: number,
  ): string;
}

/** A sortable, unique webhook id (time first, then randomness). */
export function newWebhookId(now: number): string {
  const random = crypto.getRandomValues(new Uint8Array(6)).toHex();
  return `wh_${now.toString(36).padStart(9, "0")}_${random}`;
}

/** Creates the outbox; with `usesQueue`, each owed webhook is also enqueued atomically. */
export function createOutbox(usesQueue: boolean): Outbox {
  return {
    usesQueue,
    owe(op, tx, kind, phase, body, now) {
      tx.webhookSeq += 1;
      const id = newWebhookId(now);
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
        nextAttemptAt: now,
        createdAt: now,
      };
      op.set(kvKeys.webhook(id), record)
        .set(kvKeys.transactionWebhook(tx.wixTransactionId, tx.webhookSeq), id)
        .set(kvKeys.webhookDue(now, id), null);
      if (usesQueue) op.enqueue({ type: "webhook", id } satisfies WebhookQueueMessage);
      return id;
    },
  };
}
