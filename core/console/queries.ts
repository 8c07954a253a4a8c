/**
 * What the console's pages show, read from KV: the last 24 hours at a glance, search by any of
 * the ids an operator is given, a newest-first list with paging, one transaction's timeline,
 * and the dead letters. Plain data in, plain data out; the pages render it.
 * @module
 */

import { countWebhookBacklog, listTransactionWebhooks } from "../delivery/mod.ts";
import type { WebhookBacklog, WebhookRecord } from "../delivery/mod.ts";
import {
  findTransactionByPluginId,
  getTransaction,
  getTransactions,
  listRefunds,
} from "../payments/mod.ts";
import type { RefundRecord, TransactionRecord } from "../payments/mod.ts";
import { kvKeys } from "../store/mod.ts";
import { isStorableId } from "../common/mod.ts";
import { listSpiRequests } from "./journal.ts";
import type { JournalEntry } from "./journal.ts";

const DAY_MS = 24 * 3_600_000;
const OVERVIEW_CAP = 5_000;

/** The last 24 hours. */
export interface Overview {
  /** Payments created per hour, oldest hour first, by status. */
  hours: { start: number; byStatus: Record<string, number> }[];
  payments: Record<string, number>;
  refunds: Record<string, number>;
  webhooks: WebhookBacklog & {
    lagP50Ms?: number;
    lagP99Ms?: number;
    /** Delivered after being held while no Wix app was configured: left out of the lag. */
    heldDelivered: number;
  };
  /** True when more than the cap of payments was created and the counts are partial. */
  capped: boolean;
}

/** Counts the last 24 hours of payments, refunds and webhooks. */
export async function overview(kv: Deno.Kv, now: number): Promise<Overview> {
  const since = now - DAY_MS;
  const firstHour = Math.floor(since / 3_600_000) * 3_600_000;
  const hours = Array.from(
    { length: 25 },
    (_, i) => ({ start: firstHour + i * 3_600_000, byStatus: {} as Record<string, number> }),
  );
  const payments: Record<string, number> = {};
  const refunds: Record<string, number> = {};
  const lags = { ms: [] as number[], held: 0 };
  const ids: string[] = [];
  const index = kv.list({
    start: kvKeys.transactionByTime(since, ""),
    end: kvKeys.transactionByTime(now + 1, ""),
  }, { reverse: true, limit: OVERVIEW_CAP });
  for await (const entry of index) ids.push(entry.key[2] as string);
  for (const [i, tx] of (await getTransactions(kv, ids)).entries()) {
    payments[tx.status] = (payments[tx.status] ?? 0) + 1;
    const hour = hours[Math.floor((tx.createdAt - firstHour) / 3_600_000)];
    if (hour) hour.byStatus[tx.status] = (hour.byStatus[tx.status] ?? 0) + 1;
    // Lags from the newest 200; refunds from every payment that has some.
    if (tx.refundedAmount > 0 || tx.reservedRefundAmount > 0 || i < 200) {
      await tallyTransaction(kv, tx, refunds, i < 200 ? lags : undefined);
    }
  }
  const sorted = lags.ms.sort((a, b) => a - b);
  const pick = (q: number) =>
    sorted.length === 0
      ? undefined
      : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    hours,
    payments,
    refunds,
    webhooks: {
      ...await countWebhookBacklog(kv),
      lagP50Ms: pick(0.5),
      lagP99Ms: pick(0.99),
      heldDelivered: lags.held,
    },
    capped: ids.length >= OVERVIEW_CAP,
  };
}

/**
 * Adds a transaction's refunds by status and (when `lags` is given) its delivered webhooks'
 * lags; those held while no Wix was configured are counted apart.
 */
async function tallyTransaction(
  kv: Deno.Kv,
  tx: TransactionRecord,
  refunds: Record<string, number>,
  lags: { ms: number[]; held: number } | undefined,
): Promise<void> {
  for (const refund of await listRefunds(kv, tx.wixTransactionId)) {
    refunds[refund.status] = (refunds[refund.status] ?? 0) + 1;
  }
  if (!lags) return;
  for (const { value } of await listTransactionWebhooks(kv, tx.wixTransactionId)) {
    if (value.deliveredAt === undefined) continue;
    if (value.heldWithoutWix) lags.held++;
    else lags.ms.push(value.deliveredAt - value.createdAt);
  }
}

/** A page of transactions, newest first. */
export interface TransactionPage {
  transactions: TransactionRecord[];
  /** Pass as `cursor` for the next (older) page. */
  next?: string;
}

/** Newest-first transactions (of one merchant when `wixMerchantId` is given). */
export async function listTransactions(
  kv: Deno.Kv,
  options: { cursor?: string; limit?: number; wixMerchantId?: string } = {},
): Promise<TransactionPage> {
  const prefix = options.wixMerchantId === undefined
    ? kvKeys.transactionByTimePrefix()
    : kvKeys.merchantTransactionsPrefix(options.wixMerchantId);
  const list = kv.list({ prefix }, {
    reverse: true,
    limit: options.limit ?? 25,
    cursor: options.cursor,
  });
  const ids: string[] = [];
  for await (const entry of list) ids.push(entry.key.at(-1) as string);
  return {
    transactions: await getTransactions(kv, ids),
    next: ids.length === (options.limit ?? 25) ? list.cursor : undefined,
  };
}

/** Where a search leads: one transaction, a merchant's list, or nothing. */
export type SearchResult =
  | { kind: "transaction"; wixTransactionId: string }
  | { kind: "merchant"; wixMerchantId: string }
  | { kind: "none" };

/** Finds what `query` names: a wixTransactionId, pluginTransactionId, wixRefundId or wixMerchantId. */
export async function search(kv: Deno.Kv, query: string): Promise<SearchResult> {
  const q = query.trim();
  if (!isStorableId(q)) return { kind: "none" };
  if (await getTransaction(kv, q)) return { kind: "transaction", wixTransactionId: q };
  const byPluginId = await findTransactionByPluginId(kv, q);
  if (byPluginId) return { kind: "transaction", wixTransactionId: byPluginId.wixTransactionId };
  const refundId = (await kv.get<string>(kvKeys.refundByWixId(q))).value;
  const refund = refundId ? (await kv.get<RefundRecord>(kvKeys.refund(refundId))).value : null;
  if (refund) return { kind: "transaction", wixTransactionId: refund.wixTransactionId };
  for await (const _ of kv.list({ prefix: kvKeys.merchantTransactionsPrefix(q) }, { limit: 1 })) {
    return { kind: "merchant", wixMerchantId: q };
  }
  return { kind: "none" };
}

/** Everything the console shows of one transaction. */
export interface Timeline {
  tx: TransactionRecord;
  requests: JournalEntry[];
  refunds: RefundRecord[];
  webhooks: WebhookRecord[];
}

/** One transaction's timeline, or `null` when it is unknown. */
export async function timeline(kv: Deno.Kv, wixTransactionId: string): Promise<Timeline | null> {
  const tx = await getTransaction(kv, wixTransactionId);
  if (!tx) return null;
  const [requests, refunds, webhooks] = await Promise.all([
    listSpiRequests(kv, wixTransactionId),
    listRefunds(kv, wixTransactionId),
    listTransactionWebhooks(kv, wixTransactionId),
  ]);
  return { tx, requests, refunds, webhooks: webhooks.map((e) => e.value) };
}
