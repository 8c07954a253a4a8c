/**
 * Recovery after a restore: the latest webhook of every transaction and refund changed since a
 * time is owed again, delivered or not, as a new outbox record with the same body (Wix takes an
 * identical event as a no-op, spec §3.4). A restored store may have lost the marks of webhooks
 * delivered after its backup, or Wix may have missed them: this makes sure Wix has the latest of
 * each. It reads every transaction once (the store has no index by time of last change).
 * @module
 */

import { listTransactionWebhooks } from "../delivery/mod.ts";
import type { WebhookRecord } from "../delivery/mod.ts";
import { kvKeys } from "../store/mod.ts";
import { commitAndAnnounce } from "./driver.ts";
import type { PaymentsContext } from "./driver.ts";
import type { RefundRecord, TransactionRecord } from "./records.ts";

/** What redelivery owed. */
export interface RedeliverySummary {
  transactions: number;
  webhooks: number;
}

/** The webhook group a record belongs to: its transaction's events, or one refund's. */
function groupOf(record: WebhookRecord): string {
  if (record.kind !== "refund") return record.kind;
  return `refund:${record.body.event.refund?.pluginRefundId}`;
}

/** The latest record of each group of `tx`'s webhooks that changed since `since`. */
async function latestChanged(
  ctx: PaymentsContext,
  tx: TransactionRecord,
  since: number,
): Promise<WebhookRecord[]> {
  const latest = new Map<string, WebhookRecord>();
  for (const { value } of await listTransactionWebhooks(ctx.kv, tx.wixTransactionId)) {
    if (value.state !== "superseded") latest.set(groupOf(value), value);
  }
  const chosen: WebhookRecord[] = [];
  for (const [group, record] of latest) {
    if (group.startsWith("refund:")) {
      const id = group.slice("refund:".length);
      const refund = (await ctx.kv.get<RefundRecord>(kvKeys.refund(id))).value;
      if (!refund || refund.updatedAt < since) continue;
    }
    chosen.push(record);
  }
  return chosen;
}

/** Owes again the latest webhooks of `wixTransactionId` changed since `since`; how many. */
async function redeliverTransaction(
  ctx: PaymentsContext,
  wixTransactionId: string,
  since: number,
): Promise<number> {
  const key = kvKeys.transaction(wixTransactionId);
  return await commitAndAnnounce<number>(ctx, async () => {
    const entry = await ctx.kv.get<TransactionRecord>(key);
    if (!entry.value) return { done: 0 };
    const records = await latestChanged(ctx, entry.value, since);
    if (records.length === 0) return { done: 0 };
    const now = ctx.clock.now();
    const next: TransactionRecord = { ...entry.value };
    const op = ctx.kv.atomic().check(entry);
    for (const record of records) {
      ctx.outbox.owe(op, next, record.kind, record.phase, record.body, now);
    }
    op.set(key, next);
    return { commit: op, value: records.length };
  });
}

/** Owes again the latest webhook of every transaction and refund changed since `since` (ms). */
export async function redeliverSince(
  ctx: PaymentsContext,
  since: number,
): Promise<RedeliverySummary> {
  const summary: RedeliverySummary = { transactions: 0, webhooks: 0 };
  const list = ctx.kv.list<TransactionRecord>({ prefix: kvKeys.transactionPrefix() }, {
    batchSize: 500,
  });
  for await (const entry of list) {
    if (entry.key.length !== 2 || entry.value.updatedAt < since) continue;
    const owed = await redeliverTransaction(ctx, entry.value.wixTransactionId, since);
    if (owed > 0) {
      summary.transactions++;
      summary.webhooks += owed;
    }
  }
  ctx.logger.info("webhooks owed again after a restore", { since, ...summary });
  return summary;
}
