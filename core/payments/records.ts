/**
 * The payment records kept in Deno KV (transactions, refunds, captures and voids, merchants,
 * scheduled payment jobs) and their reads. Writes happen only in this folder's operations, each as one checked atomic
 * operation that also records the webhook the change owes; statuses change only through
 * `state_machine.ts`.
 *
 * No record holds a card number, CVV, credential or token: at most BIN and last four.
 * @module
 */

import { getExisting, kvKeys } from "../store/mod.ts";
import type { CardDetails, CredentialsOnFile, Decline } from "../processor/mod.ts";
import type { OperationStatus, RefundStatus, TransactionStatus } from "./state_machine.ts";

/** A request's hold on an operation while the processor is called. `at` 0 means released. */
export interface Claim {
  token: string;
  /** When the claim was taken (ms since the epoch). */
  at: number;
}

/** A capture or a void, stored on its transaction (one of each at most). */
export interface OperationRecord {
  status: OperationStatus;
  amount: number;
  claim?: Claim;
  decline?: Decline;
  at: number;
}

/** The buyer-facing return URLs of a redirect payment. */
export interface ReturnUrls {
  successUrl?: string;
  errorUrl?: string;
  cancelUrl?: string;
  pendingUrl?: string;
}

/** A payment, keyed by `wixTransactionId`. */
export interface TransactionRecord {
  wixTransactionId: string;
  pluginTransactionId?: string;
  wixMerchantId?: string;
  status: TransactionStatus;
  /** Present while `status` is `processing`. */
  claim?: Claim;
  /** Hash of amount, currency, method and card identity, to refuse a reused id (422). */
  fingerprint: string;
  amount: number;
  currency: string;
  authorizeOnly: boolean;
  paymentMethod?: string;
  /** BIN and last four of the card or wallet PAN; never more. */
  card?: CardDetails;
  /** Number of installments (1: a single payment). Absent on records from before it was kept. */
  installments?: number;
  /** A payment type other than a buyer paying now, when the request said so. */
  paymentType?: "moto" | "off_session" | "credentials_setup" | "stored_credential";
  /** Card details the processor reported, sent to Wix in the transaction event. */
  reportedCard?: CardDetails;
  credentialsOnFile?: CredentialsOnFile;
  /** The reason code of a pending, declined or canceled status. */
  reason?: Decline;
  redirectUrl?: string;
  returnUrls?: ReturnUrls;
  /** What the sandbox checkout page shows. */
  order?: { id?: string; items: { name: string; quantity: number; price?: number }[] };
  /**
   * The billing address's country, the one part of the buyer's address kept (the console shows
   * it); the rest is passed to the processor and never stored.
   */
  billingCountry?: string;
  /** A partial authorization: the amount approved when less than `amount` was. */
  authorizedAmount?: number;
  /** Money taken: the amount once approved (or captured). */
  capturedAmount: number;
  refundedAmount: number;
  /** Refunds claimed but not yet answered by the processor. */
  reservedRefundAmount: number;
  capture?: OperationRecord;
  void?: OperationRecord;
  /** The sequence number of the last webhook this transaction owed. */
  webhookSeq: number;
  history: { status: TransactionStatus; at: number; source: string }[];
  createdAt: number;
  updatedAt: number;
}

/** A refund, keyed by this service's `pluginRefundId`. */
export interface RefundRecord {
  pluginRefundId: string;
  /** Present when Wix initiated the refund. */
  wixRefundId?: string;
  wixTransactionId: string;
  amount: number;
  initiator: "wix" | "psp";
  status: RefundStatus;
  claim?: Claim;
  decline?: Decline;
  createdAt: number;
  updatedAt: number;
}

/** A connected merchant. Credentials are not stored: Wix sends them with every call. */
export interface MerchantRecord {
  wixMerchantId: string;
  accountId: string;
  accountName: string;
  connectedAt: number;
}

/** Reads a transaction. */
export async function getTransaction(
  kv: Deno.Kv,
  wixTransactionId: string,
): Promise<TransactionRecord | null> {
  return (await kv.get<TransactionRecord>(kvKeys.transaction(wixTransactionId))).value;
}

/** Reads transactions by id, in the order given; unknown ids are left out. */
export async function getTransactions(
  kv: Deno.Kv,
  wixTransactionIds: string[],
): Promise<TransactionRecord[]> {
  const keys = wixTransactionIds.map((id) => kvKeys.transaction(id));
  return (await getExisting<TransactionRecord>(kv, keys)).map((entry) => entry.value);
}

/** Reads a refund by `pluginRefundId`. */
export async function getRefund(kv: Deno.Kv, pluginRefundId: string): Promise<RefundRecord | null> {
  return (await kv.get<RefundRecord>(kvKeys.refund(pluginRefundId))).value;
}

/** Lists a transaction's refunds. */
export async function listRefunds(kv: Deno.Kv, wixTransactionId: string): Promise<RefundRecord[]> {
  const ids: string[] = [];
  for await (
    const entry of kv.list({ prefix: kvKeys.transactionRefundsPrefix(wixTransactionId) })
  ) {
    ids.push(entry.key.at(-1) as string);
  }
  const refunds = await Promise.all(ids.map((id) => getRefund(kv, id)));
  return refunds.filter((refund): refund is RefundRecord => refund !== null)
    .sort((a, b) => a.createdAt - b.createdAt);
}

/** Reads a merchant. */
export async function getMerchant(
  kv: Deno.Kv,
  wixMerchantId: string,
): Promise<MerchantRecord | null> {
  return (await kv.get<MerchantRecord>(kvKeys.merchant(wixMerchantId))).value;
}

/** A scheduled payment job. */
export type PaymentJob =
  /**
   * Apply a later payment outcome. Written by the sandbox before processors became plugins
   * (they now report through the payments port); still run so that such jobs left in a KV
   * complete.
   */
  | {
    kind: "payment_outcome";
    id: string;
    wixTransactionId: string;
    outcome:
      | { kind: "approved"; cardDetails?: CardDetails; credentialsOnFile?: CredentialsOnFile }
      | ({ kind: "declined" } & Decline);
  }
  /** Cancel a redirect payment whose buyer never chose (3030). */
  | { kind: "abandon_redirect"; id: string; wixTransactionId: string };

/**
 * Adds the console's indexes of a transaction to `op`, the atomic operation that writes the
 * record: newest-first by creation time, per merchant, and by `pluginTransactionId` once known.
 */
export function indexTransaction(op: Deno.AtomicOperation, tx: TransactionRecord): void {
  op.set(kvKeys.transactionByTime(tx.createdAt, tx.wixTransactionId), null);
  if (tx.wixMerchantId) {
    op.set(kvKeys.merchantTransaction(tx.wixMerchantId, tx.createdAt, tx.wixTransactionId), null);
  }
  if (tx.pluginTransactionId) {
    op.set(kvKeys.transactionByPluginId(tx.pluginTransactionId), tx.wixTransactionId);
  }
}

/** Finds a transaction by the processor's `pluginTransactionId`. */
export async function findTransactionByPluginId(
  kv: Deno.Kv,
  pluginTransactionId: string,
): Promise<TransactionRecord | null> {
  const id = (await kv.get<string>(kvKeys.transactionByPluginId(pluginTransactionId))).value;
  return id === null ? null : await getTransaction(kv, id);
}

/**
 * Writes the console's indexes for transactions recorded before they existed, once per
 * database (a marker key remembers it), 50 transactions per atomic operation. Safe to run from
 * several processes at once: every write is an idempotent `set`. Returns how many it indexed.
 */
export async function indexEarlierTransactions(kv: Deno.Kv): Promise<number> {
  if ((await kv.get(kvKeys.migration("tx_indexes_v1"))).value !== null) return 0;
  let indexed = 0;
  let op = kv.atomic();
  let inBatch = 0;
  for await (const entry of kv.list<TransactionRecord>({ prefix: kvKeys.transactionPrefix() })) {
    indexTransaction(op, entry.value);
    indexed++;
    if (++inBatch === 50) {
      await op.commit();
      [op, inBatch] = [kv.atomic(), 0];
    }
  }
  await op.set(kvKeys.migration("tx_indexes_v1"), Date.now()).commit();
  return indexed;
}
