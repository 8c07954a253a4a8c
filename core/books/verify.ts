/**
 * The store checker (`cli verify-store`): reads every record and index of a store, also while a
 * server writes to it, and reports each place where an invariant the code relies on does not
 * hold. It streams: memory stays bounded by one transaction's refunds and webhooks.
 *
 * Checked: every index entry points to its record; every queued webhook has its due entry and no
 * due or dead-letter entry is orphaned; a transaction's refunded amount is the sum of its
 * succeeded refunds, its reserved amount the sum of those in progress, and neither exceeds what
 * was captured; every status is one the state machine knows, reached through allowed
 * transitions; no claim has outlived its lease with no job to settle it; no value holds a card
 * number.
 * @module
 */

import { kvKeys } from "../store/mod.ts";
import type { WebhookRecord } from "../delivery/mod.ts";
import { checkTransition, TRANSACTION_STATUSES } from "../payments/mod.ts";
import type { RefundRecord, TransactionRecord } from "../payments/mod.ts";

/** One place where the store breaks an invariant. */
export interface Finding {
  /** A stable name of the invariant, e.g. `index_points_nowhere`. */
  check: string;
  /** The key it was found at, as text. */
  key: string;
  detail: string;
}

/** What a check of the whole store found, and how much it read. */
export interface StoreReport {
  findings: Finding[];
  counts: { transactions: number; refunds: number; webhooks: number; entries: number };
}

/** Fields that hold digits that are not card numbers (network and 3-D Secure ids, tokens). */
const NOT_PAN_FIELDS = new Set([
  "networkTransactionId",
  "dsTransactionId",
  "transactionLinkId",
  "token",
  "pluginTransactionId",
  "pluginRefundId",
  "wixTransactionId",
  "wixRefundId",
]);

const PAN_RUN = /(?<!\d)\d{12,19}(?!\d)/g;

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1 && (digit *= 2) > 9) digit -= 9;
    sum += digit;
  }
  return sum % 10 === 0;
}

/** The path of a card number inside `value`, if one is stored there. */
export function cardNumberIn(value: unknown, path = "", depth = 0): string | undefined {
  if (typeof value === "string") {
    for (const run of value.match(PAN_RUN) ?? []) if (luhn(run)) return path || "(value)";
    return undefined;
  }
  if (depth > 12 || value === null || typeof value !== "object") return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (NOT_PAN_FIELDS.has(key)) continue;
    const found = cardNumberIn(item, path ? `${path}.${key}` : key, depth + 1);
    if (found) return found;
  }
  return undefined;
}

const keyText = (key: Deno.KvKey) => JSON.stringify(key);

/** Checks the store `kv` at `now`; `leaseMs` is how long a claim protects its holder. */
export async function verifyStore(
  kv: Deno.Kv,
  now: number,
  leaseMs: number,
): Promise<StoreReport> {
  const findings: Finding[] = [];
  const found = (check: string, key: Deno.KvKey, detail: string) =>
    findings.push({ check, key: keyText(key), detail });
  const counts = { transactions: 0, refunds: 0, webhooks: 0, entries: 0 };
  const jobsFor = await transactionsWithJobs(kv);
  for await (const entry of kv.list<unknown>({ prefix: [] })) {
    counts.entries++;
    const where = cardNumberIn(entry.value);
    if (where) found("card_number_stored", entry.key, `a card number at ${where}`);
    const [kind] = entry.key;
    if (kind === "tx" && entry.key.length === 2) {
      counts.transactions++;
      await checkTransaction(
        kv,
        entry as Deno.KvEntry<TransactionRecord>,
        now,
        leaseMs,
        jobsFor,
        found,
      );
    } else if (kind === "refund") {
      counts.refunds++;
    } else if (kind === "webhook") {
      counts.webhooks++;
      await checkWebhook(kv, entry as Deno.KvEntry<WebhookRecord>, found);
    } else {
      await checkIndexEntry(kv, entry, found);
    }
  }
  return { findings, counts };
}

type Found = (check: string, key: Deno.KvKey, detail: string) => void;

/** Transactions a scheduled job will settle (a job names its `wixTransactionId`). */
async function transactionsWithJobs(kv: Deno.Kv): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (
    const entry of kv.list<{ wixTransactionId?: string }>({ prefix: kvKeys.jobPrefix() })
  ) {
    if (typeof entry.value?.wixTransactionId === "string") ids.add(entry.value.wixTransactionId);
  }
  return ids;
}

async function checkTransaction(
  kv: Deno.Kv,
  entry: Deno.KvEntry<TransactionRecord>,
  now: number,
  leaseMs: number,
  jobsFor: Set<string>,
  found: Found,
): Promise<void> {
  const tx = entry.value;
  const key = entry.key;
  if (!TRANSACTION_STATUSES.includes(tx.status)) {
    found("status_unknown", key, `status ${JSON.stringify(tx.status)} is not a transaction status`);
  }
  checkHistory(tx, key, found);
  if (
    tx.status === "processing" && tx.claim && tx.claim.at !== 0 &&
    now - tx.claim.at > leaseMs && !jobsFor.has(tx.wixTransactionId)
  ) {
    found(
      "claim_past_lease",
      key,
      `claimed ${Math.round((now - tx.claim.at) / 1000)} s ago, past its ${leaseMs / 1000} s ` +
        "lease, with no job to settle it (Wix's retry takes it over)",
    );
  }
  let succeeded = 0;
  let processing = 0;
  for await (
    const index of kv.list({ prefix: kvKeys.transactionRefundsPrefix(tx.wixTransactionId) })
  ) {
    const refund = (await kv.get<RefundRecord>(kvKeys.refund(String(index.key[2])))).value;
    if (!refund) continue; // reported as an index pointing nowhere
    if (refund.status === "succeeded") succeeded += refund.amount;
    if (refund.status === "processing") processing += refund.amount;
  }
  if (succeeded !== tx.refundedAmount) {
    found(
      "refunded_amount",
      key,
      `refundedAmount ${tx.refundedAmount}, succeeded refunds ${succeeded}`,
    );
  }
  if (processing !== tx.reservedRefundAmount) {
    found(
      "reserved_amount",
      key,
      `reservedRefundAmount ${tx.reservedRefundAmount}, refunds in progress ${processing}`,
    );
  }
  if (tx.refundedAmount + tx.reservedRefundAmount > tx.capturedAmount) {
    found(
      "refunds_exceed_capture",
      key,
      `refunded ${tx.refundedAmount} + reserved ${tx.reservedRefundAmount} > captured ${tx.capturedAmount}`,
    );
  }
}

/** The history must start at `processing` and move only as the state machine allows. */
function checkHistory(tx: TransactionRecord, key: Deno.KvKey, found: Found): void {
  const history = tx.history ?? [];
  if (history.length === 0 || history[0].status !== "processing") {
    found("history", key, "the history does not start at processing");
    return;
  }
  for (let i = 1; i < history.length; i++) {
    const check = checkTransition(history[i - 1].status, history[i].status);
    if (!check.ok) found("transition", key, `history step ${i}: ${check.reason}`);
  }
  if (history.at(-1)!.status !== tx.status) {
    found("history", key, `status ${tx.status}, but the history ends at ${history.at(-1)!.status}`);
  }
}

async function checkWebhook(
  kv: Deno.Kv,
  entry: Deno.KvEntry<WebhookRecord>,
  found: Found,
): Promise<void> {
  const record = entry.value;
  if (record.state === "queued") {
    const due = await kv.get(kvKeys.webhookDue(record.nextAttemptAt, record.id));
    if (due.versionstamp === null) {
      found("webhook_not_due", entry.key, "a queued webhook without its due entry is never sent");
    }
  }
  if (
    record.state === "dead" && (await kv.get(kvKeys.webhookDead(record.id))).versionstamp === null
  ) {
    found("dead_not_listed", entry.key, "a dead letter missing from the dead-letter list");
  }
  const index = await kv.get<string>(
    kvKeys.transactionWebhook(record.wixTransactionId, record.seq),
  );
  if (index.value !== record.id) {
    found("webhook_not_indexed", entry.key, "missing from its transaction's webhook list");
  }
}

/** Index entries: each must point to its record (and a due entry to a queued webhook). */
async function checkIndexEntry(kv: Deno.Kv, entry: Deno.KvEntry<unknown>, found: Found) {
  const target = indexTarget(entry);
  if (!target) return;
  const record = await kv.get<{ state?: string; pluginTransactionId?: string }>(target.key);
  if (record.value === null) {
    found("index_points_nowhere", entry.key, `points to ${keyText(target.key)}, which is absent`);
  } else if (target.state && record.value.state !== target.state) {
    found(
      "index_state",
      entry.key,
      `points to a webhook that is ${record.value.state}, not ${target.state}`,
    );
  } else if (
    target.pluginTransactionId && record.value.pluginTransactionId !== target.pluginTransactionId
  ) {
    found("index_points_elsewhere", entry.key, "the transaction has another pluginTransactionId");
  }
}

/** The record an index entry points to, with what it must be, or undefined for a record. */
function indexTarget(
  entry: Deno.KvEntry<unknown>,
): { key: Deno.KvKey; state?: string; pluginTransactionId?: string } | undefined {
  const [kind, a, b, c] = entry.key;
  switch (kind) {
    case "tx_by_time":
      return { key: kvKeys.transaction(String(b)) };
    case "tx_by_merchant":
      return { key: kvKeys.transaction(String(c)) };
    case "tx_by_plugin_id":
      return { key: kvKeys.transaction(String(entry.value)), pluginTransactionId: String(a) };
    case "tx_refund":
      return { key: kvKeys.refund(String(b)) };
    case "refund_by_wix":
      return { key: kvKeys.refund(String(entry.value)) };
    case "tx_webhook":
      return { key: kvKeys.webhook(String(entry.value)) };
    case "webhook_due":
      return { key: kvKeys.webhook(String(b)), state: "queued" };
    case "webhook_dead":
      return { key: kvKeys.webhook(String(a)), state: "dead" };
    default:
      return undefined;
  }
}
