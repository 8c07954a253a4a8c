/**
 * Exports for finance (`cli export`, the console's download): payments or refunds as CSV with a
 * header row, or as JSON lines, streamed row by row from KV so that a million rows need no more
 * memory than one. Amounts are decimals in major units, converted with the currency table at
 * this edge (`12.34` for 1234 USD cents); times are ISO 8601 in UTC.
 * @module
 */

import { getExisting, kvKeys } from "../store/mod.ts";
import { formatAmount } from "../wix/mod.ts";
import type { RefundRecord, TransactionRecord } from "../payments/mod.ts";

/** What to export. */
export interface ExportOptions {
  kind: "payments" | "refunds";
  format: "csv" | "jsonl";
  /** On the time of the last change: from `since` (inclusive) to `until` (exclusive), ms. */
  since?: number;
  until?: number;
  wixMerchantId?: string;
}

/** The columns of each kind, in order (the CSV header row). */
export const EXPORT_COLUMNS = {
  payments: [
    "wixTransactionId",
    "pluginTransactionId",
    "wixMerchantId",
    "createdAt",
    "updatedAt",
    "status",
    "reasonCode",
    "amount",
    "currency",
    "captured",
    "refunded",
    "paymentMethod",
    "cardLastFour",
  ],
  refunds: [
    "pluginRefundId",
    "wixRefundId",
    "wixTransactionId",
    "wixMerchantId",
    "initiator",
    "createdAt",
    "updatedAt",
    "status",
    "reasonCode",
    "amount",
    "currency",
  ],
} as const;

type Row = Record<string, string | number | undefined>;

const iso = (ms: number) => new Date(ms).toISOString();
/** A decimal in major units, e.g. "12.34" (the currency table says how many digits). */
const major = (minor: number, currency: string) => formatAmount(minor, currency).split(" ")[0];

function paymentRow(tx: TransactionRecord): Row {
  return {
    wixTransactionId: tx.wixTransactionId,
    pluginTransactionId: tx.pluginTransactionId,
    wixMerchantId: tx.wixMerchantId,
    createdAt: iso(tx.createdAt),
    updatedAt: iso(tx.updatedAt),
    status: tx.status,
    reasonCode: tx.reason?.reasonCode,
    amount: major(tx.amount, tx.currency),
    currency: tx.currency,
    captured: major(tx.capturedAmount, tx.currency),
    refunded: major(tx.refundedAmount, tx.currency),
    paymentMethod: tx.paymentMethod,
    cardLastFour: tx.card?.lastFour ?? tx.reportedCard?.lastFour,
  };
}

function refundRow(refund: RefundRecord, tx: TransactionRecord | undefined): Row {
  const currency = tx?.currency;
  return {
    pluginRefundId: refund.pluginRefundId,
    wixRefundId: refund.wixRefundId,
    wixTransactionId: refund.wixTransactionId,
    wixMerchantId: tx?.wixMerchantId,
    initiator: refund.initiator,
    createdAt: iso(refund.createdAt),
    updatedAt: iso(refund.updatedAt),
    status: refund.status,
    reasonCode: refund.decline?.reasonCode,
    amount: currency ? major(refund.amount, currency) : String(refund.amount),
    currency,
  };
}

/** One CSV field: quoted when needed; a text that a spreadsheet would run as a formula is defused. */
function csvField(value: string | number | undefined): string {
  if (value === undefined) return "";
  let text = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The lines of an export: a header row for CSV, then one line per row. */
export async function* exportLines(kv: Deno.Kv, options: ExportOptions): AsyncGenerator<string> {
  const columns = EXPORT_COLUMNS[options.kind];
  if (options.format === "csv") yield `${columns.join(",")}\r\n`;
  const rows = options.kind === "payments" ? paymentRows(kv, options) : refundRows(kv, options);
  for await (const row of rows) {
    if (options.format === "csv") {
      yield `${columns.map((column) => csvField(row[column])).join(",")}\r\n`;
    } else {
      yield `${JSON.stringify(Object.fromEntries(columns.map((c) => [c, row[c] ?? null])))}\n`;
    }
  }
}

const changedWithin = (record: { updatedAt: number }, options: ExportOptions) =>
  (options.since === undefined || record.updatedAt >= options.since) &&
  (options.until === undefined || record.updatedAt < options.until);

/** Payments, by id, or a merchant's through its index (ten records per read). */
async function* paymentRows(kv: Deno.Kv, options: ExportOptions): AsyncGenerator<Row> {
  if (options.wixMerchantId === undefined) {
    const list = kv.list<TransactionRecord>({ prefix: kvKeys.transactionPrefix() }, {
      batchSize: 500,
    });
    for await (const entry of list) {
      if (entry.key.length === 2 && changedWithin(entry.value, options)) {
        yield paymentRow(entry.value);
      }
    }
    return;
  }
  let ids: string[] = [];
  const flush = async function* () {
    const entries = await getExisting<TransactionRecord>(kv, ids.map(kvKeys.transaction));
    ids = [];
    for (const entry of entries) {
      if (changedWithin(entry.value, options)) yield paymentRow(entry.value);
    }
  };
  const index = kv.list({ prefix: kvKeys.merchantTransactionsPrefix(options.wixMerchantId) }, {
    batchSize: 500,
  });
  for await (const entry of index) {
    ids.push(String(entry.key[3]));
    if (ids.length >= 100) yield* flush();
  }
  yield* flush();
}

/** Refunds, each with its payment's currency and merchant (payments read once per hundred). */
async function* refundRows(kv: Deno.Kv, options: ExportOptions): AsyncGenerator<Row> {
  const payments = new Map<string, TransactionRecord | undefined>();
  const list = kv.list<RefundRecord>({ prefix: kvKeys.refundPrefix() }, { batchSize: 500 });
  for await (const entry of list) {
    const refund = entry.value;
    if (!changedWithin(refund, options)) continue;
    if (!payments.has(refund.wixTransactionId)) {
      if (payments.size >= 1000) payments.clear();
      const tx = (await kv.get<TransactionRecord>(kvKeys.transaction(refund.wixTransactionId)))
        .value;
      payments.set(refund.wixTransactionId, tx ?? undefined);
    }
    const tx = payments.get(refund.wixTransactionId);
    if (options.wixMerchantId !== undefined && tx?.wixMerchantId !== options.wixMerchantId) {
      continue;
    }
    yield refundRow(refund, tx);
  }
}
