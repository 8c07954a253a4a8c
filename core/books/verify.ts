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
  "fingerprint",
]);

// A card number's shape: 13 to 19 digits from a card network's first digit (2 to 6), standing
// alone (digits inside a hex hash or an id such as `wh_..._190556945094` are not a PAN), and
// passing Luhn.
const PAN_RUN = /(?<![0-9A-Za-z_-])[2-6]\d{12,18}(?![0-9A-Za-z_-])/g;

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
  const amounts = await refundProblems(kv, tx);
  const settled = amounts.length === 0 ? amounts : await refundProblemsSettled(kv, key);
  for (const [check, detail] of settled) found(check, key, detail);
}

/** The refund amounts of `tx` that disagree with its refunds, as read now. */
async function refundProblems(kv: Deno.Kv, tx: TransactionRecord): Promise<[string, string][]> {
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
  const problems: [string, string][] = [];
  if (succeeded !== tx.refundedAmount) {
    problems.push([
      "refunded_amount",
      `refundedAmount ${tx.refundedAmount}, succeeded refunds ${succeeded}`,
    ]);
  }
  if (processing !== tx.reservedRefundAmount) {
    problems.push([
      "reserved_amount",
      `reservedRefundAmount ${tx.reservedRefundAmount}, refunds in progress ${processing}`,
    ]);
  }
  if (tx.refundedAmount + tx.reservedRefundAmount > tx.capturedAmount) {
    problems.push([
      "refunds_exceed_capture",
      `refunded ${tx.refundedAmount} + reserved ${tx.reservedRefundAmount} > captured ${tx.capturedAmount}`,
    ]);
  }
  return problems;
}

/**
 * The refund problems of the transaction at `key` once they hold still: a refund being settled
 * changes the refund and its transaction in one write, but the two are read one after the
 * other, so a disagreement is believed only when the transaction did not change around it.
 */
async function refundProblemsSettled(kv: Deno.Kv, key: Deno.KvKey): Promise<[string, string][]> {
  for (let tries = 0; tries < 5; tries++) {
    const before = await kv.get<TransactionRecord>(key);
    if (!before.value) return [];
    const problems = await refundProblems(kv, before.value);
    const after = await kv.get(key);
    if (after.versionstamp === before.versionstamp) return problems;
  }
  return [];
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
  if (webhookProblems(entry.value, await webhookIndexes(kv, entry.value)).length === 0) return;
  // A server may have moved the record since the scan read it: judge it again on one snapshot
  // of the record and its indexes.
  const fresh = (await kv.get<WebhookRecord>(entry.key)).value;
  if (!fresh) return;
  for (const [check, detail] of webhookProblems(fresh, await webhookIndexes(kv, fresh))) {
    found(check, entry.key, detail);
  }
}

/** A webhook record's index entries, read in one snapshot with the record itself. */
async function webhookIndexes(kv: Deno.Kv, record: WebhookRecord) {
  const [current, due, dead, listed] = await kv.getMany<[WebhookRecord, null, null, string]>([
    kvKeys.webhook(record.id),
    kvKeys.webhookDue(record.nextAttemptAt, record.id),
    kvKeys.webhookDead(record.id),
    kvKeys.transactionWebhook(record.wixTransactionId, record.seq),
  ]);
  return { current: current.value, due, dead, listed };
}

/** What is wrong with a webhook record and its indexes, as one snapshot shows them. */
function webhookProblems(
  record: WebhookRecord,
  indexes: Awaited<ReturnType<typeof webhookIndexes>>,
): [string, string][] {
  if (JSON.stringify(indexes.current) !== JSON.stringify(record)) return []; // changed: look again
  const problems: [string, string][] = [];
  if (record.state === "queued" && indexes.due.versionstamp === null) {
    problems.push(["webhook_not_due", "a queued webhook without its due entry is never sent"]);
  }
  if (record.state === "dead" && indexes.dead.versionstamp === null) {
    problems.push(["dead_not_listed", "a dead letter missing from the dead-letter list"]);
  }
  if (indexes.listed.value !== record.id) {
    problems.push(["webhook_not_indexed", "missing from its transaction's webhook list"]);
  }
  return problems;
}

/**
 * Index entries: each must point to its record (and a due entry to a queued webhook). A problem
 * is judged again on one snapshot of the entry and its record: a server may have changed both
 * since the scan read the entry.
 */
async function checkIndexEntry(kv: Deno.Kv, entry: Deno.KvEntry<unknown>, found: Found) {
  const target = indexTarget(entry);
  if (!target) return;
  const [index, record] = await kv.getMany<
    [unknown, { state?: string; pluginTransactionId?: string }]
  >(
    [entry.key, target.key],
  );
  if (index.versionstamp === null) return; // removed meanwhile, with its record's change
  const current = indexTarget(index);
  if (!current) return;
  if (record.value === null) {
    found("index_points_nowhere", entry.key, `points to ${keyText(current.key)}, which is absent`);
  } else if (current.state && record.value.state !== current.state) {
    found(
      "index_state",
      entry.key,
      `points to a webhook that is ${record.value.state}, not ${current.state}`,
    );
  } else if (
    current.pluginTransactionId && record.value.pluginTransactionId !== current.pluginTransactionId
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
