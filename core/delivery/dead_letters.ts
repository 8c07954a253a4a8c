/**
 * Dead letters, for operators: listing them, their running total, and sending one again with a
 * fresh retry schedule (never a pending event a final one has superseded).
 * @module
 */

import type { Clock, Logger } from "../common/mod.ts";
import { atomicRetry, kvKeys } from "../store/mod.ts";
import { isSupersededPending } from "./ordering.ts";
import type { WebhookQueueMessage } from "./outbox.ts";
import { getWebhooks, listTransactionWebhooks } from "./records.ts";
import type { WebhookRecord } from "./records.ts";

/** The outcome of asking for a dead-lettered webhook to be sent again. */
export type RedeliverResult =
  | { ok: true; record: WebhookRecord }
  | { ok: false; status: 404 | 409; code: string; message: string };

/** Why `record` (with its transaction's `siblings`) cannot be redelivered, if it cannot. */
async function redeliveryRefusal(
  kv: Deno.Kv,
  id: string,
  record: WebhookRecord | null,
): Promise<Extract<RedeliverResult, { ok: false }> | undefined> {
  if (!record) return { ok: false, status: 404, code: "not_found", message: `no webhook ${id}` };
  if (record.state !== "dead") {
    const message = `webhook ${id} is ${record.state}, not dead`;
    return { ok: false, status: 409, code: "not_dead", message };
  }
  const siblings = await listTransactionWebhooks(kv, record.wixTransactionId);
  if (isSupersededPending(siblings.map((e) => e.value), record)) {
    const message =
      "a final transaction event exists; sending this pending event would go back in time";
    return { ok: false, status: 409, code: "superseded", message };
  }
  return undefined;
}

/** Moves dead-lettered `id` back to the queue, due now, with a fresh schedule. */
export async function requeueDeadWebhook(
  kv: Deno.Kv,
  clock: Clock,
  useQueue: boolean,
  id: string,
): Promise<RedeliverResult> {
  return await atomicRetry<RedeliverResult>(async () => {
    const now = clock.now();
    const entry = await kv.get<WebhookRecord>(kvKeys.webhook(id));
    const refusal = await redeliveryRefusal(kv, id, entry.value);
    if (refusal) return { done: refusal };
    const next: WebhookRecord = {
      ...entry.value!,
      state: "queued",
      attemptCount: 0,
      nextAttemptAt: now,
      deadAt: undefined,
    };
    const op = kv.atomic().check(entry).set(kvKeys.webhook(id), next)
      .delete(kvKeys.webhookDead(id)).set(kvKeys.webhookDue(now, id), null);
    if (useQueue) op.enqueue({ type: "webhook", id } satisfies WebhookQueueMessage);
    return { commit: op, value: { ok: true, record: next } };
  });
}

/** Dead-lettered records, oldest first. */
export async function listDeadWebhooks(kv: Deno.Kv, limit = 100): Promise<WebhookRecord[]> {
  const ids: string[] = [];
  for await (const entry of kv.list({ prefix: kvKeys.webhookDeadPrefix() }, { limit })) {
    ids.push(entry.key[1] as string);
  }
  const records = (await getWebhooks(kv, ids)).map((entry) => entry.value);
  return records.sort((a, b) => (a.deadAt ?? 0) - (b.deadAt ?? 0));
}

/** How many webhooks were ever dead-lettered. */
export async function deadWebhookTotal(kv: Deno.Kv): Promise<number> {
  const total = await kv.get<Deno.KvU64>(kvKeys.webhookDeadTotal());
  return Number(total.value?.value ?? 0n);
}

/** What operators do with dead letters, for a delivery that starts attempts with `kick`. */
export interface DeadLetters {
  /** Moves a dead-lettered record back to the queue with a fresh schedule, and kicks it. */
  redeliver(id: string): Promise<RedeliverResult>;
  /** Dead-lettered records, oldest first. */
  listDead(limit?: number): Promise<WebhookRecord[]>;
  /** How many webhooks were ever dead-lettered. */
  deadTotal(): Promise<number>;
}

/** The dead-letter operations over `kv`; a redelivered record is handed to `kick`. */
export function deadLetters(
  ctx: { kv: Deno.Kv; clock: Clock; useQueue: boolean; logger: Logger },
  kick: (id: string) => void,
): DeadLetters {
  const { kv, clock, useQueue, logger } = ctx;
  return {
    async redeliver(id) {
      const result = await requeueDeadWebhook(kv, clock, useQueue, id);
      if (result.ok) {
        const { wixTransactionId } = result.record;
        logger.info("webhook redelivery requested", { webhookId: id, wixTransactionId });
        kick(id);
      }
      return result;
    },
    listDead: (limit) => listDeadWebhooks(kv, limit),
    deadTotal: () => deadWebhookTotal(kv),
  };
}
