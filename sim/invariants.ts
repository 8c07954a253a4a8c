/**
 * What must hold after every history, once everything due has settled. Each check returns its
 * violations, each naming what was seen.
 * @module
 */

import { verifyStore } from "../core/books/mod.ts";
import type { WebhookRecord } from "../core/delivery/mod.ts";
import type { TransactionRecord } from "../core/payments/mod.ts";
import { kvKeys } from "../core/store/mod.ts";
import type { Observed } from "./history.ts";
import type { World } from "./world.ts";

/** One broken invariant. */
export interface Violation {
  invariant: string;
  detail: string;
}

type Event = Record<string, unknown>;

/** The events Wix got, of one kind, by transaction, in arrival order. */
function eventsBy(world: World, kind: string): Map<string, Event[]> {
  const byTx = new Map<string, Event[]>();
  for (const { body } of world.wix.events) {
    const payload = (body.event as Record<string, Event | undefined>)[kind];
    if (!payload) continue;
    const id = payload.wixTransactionId as string;
    byTx.set(id, [...byTx.get(id) ?? [], payload]);
  }
  return byTx;
}

const isPendingCode = (code: unknown) => code === 5005 || code === 5009;
/** What a final transaction event says: approved, or declined with its code. */
const verdict = (event: Event) =>
  event.reasonCode === undefined ? "approved" : `declined ${event.reasonCode}`;

/** The invariants, in the order they are reported. */
export async function checkInvariants(world: World, observed: Observed): Promise<Violation[]> {
  const violations: Violation[] = [];
  const found = (invariant: string, detail: string) => violations.push({ invariant, detail });
  chargedOnce(world, found);
  onePluginTransactionId(world, observed, found);
  webhooksConsistent(world, found);
  oneAttemptAtATime(world, found);
  await refundsWithinCapture(world, found);
  await finalAnswersReported(world, observed, found);
  replaysAnsweredTheFirstAnswer(observed, found);
  const report = await verifyStore(world.store, world.clock.now(), world.config.processingLeaseMs);
  for (const finding of report.findings) {
    found(`verify-store: ${finding.check}`, `${finding.key}: ${finding.detail}`);
  }
  await noClaimLeft(world, found);
  return violations;
}

type Found = (invariant: string, detail: string) => void;

/** The processor was asked again only with the same key, and answered the same. */
function chargedOnce(world: World, found: Found): void {
  for (const { key, first, later } of world.processor.mismatches) {
    found("charged-once", `the processor answered ${key} with ${first}, then with ${later}`);
  }
  for (const { key, heldForMs } of world.processor.overlaps) {
    found(
      "charged-once",
      `${key} was asked again while an ask of it begun ${heldForMs} ms earlier was in flight ` +
        "and its claim's lease still held",
    );
  }
}

/** A webhook is attempted by one worker at a time: its lease keeps the others off. */
function oneAttemptAtATime(world: World, found: Found): void {
  for (const body of world.wix.overlaps) {
    found("one-attempt-at-a-time", `sent twice at once: ${body}`);
  }
}

/** Wix saw (and was answered) one pluginTransactionId per transaction. */
function onePluginTransactionId(world: World, observed: Observed, found: Found): void {
  const ids = new Map<string, Set<string>>();
  const note = (tx: string, id: unknown) => {
    if (typeof id !== "string") return;
    ids.set(tx, (ids.get(tx) ?? new Set()).add(id));
  };
  for (const [tx, events] of eventsBy(world, "transaction")) {
    for (const event of events) note(tx, event.pluginTransactionId);
  }
  for (const answer of observed.answers) {
    if (answer.kind === "create" && answer.ok) note(answer.key, answer.body?.pluginTransactionId);
  }
  for (const [tx, seen] of ids) {
    if (seen.size > 1) found("one-plugin-transaction-id", `${tx}: ${[...seen].join(", ")}`);
  }
}

/** A transaction's events never contradict each other or go back in time. */
function webhooksConsistent(world: World, found: Found): void {
  for (const [tx, events] of eventsBy(world, "transaction")) {
    let final: string | undefined;
    for (const event of events) {
      if (isPendingCode(event.reasonCode)) {
        if (final) found("webhooks-in-order", `${tx}: pending after ${final}`);
        continue;
      }
      const now = verdict(event);
      if (final && final !== now) found("webhooks-agree", `${tx}: ${final}, then ${now}`);
      final ??= now;
    }
  }
  const refunds = new Map<string, string>();
  for (const [, events] of eventsBy(world, "refund")) {
    for (const event of events) {
      const id = event.pluginRefundId as string;
      const payload = JSON.stringify(event);
      const first = refunds.get(id);
      if (first && first !== payload) {
        found("webhooks-agree", `refund ${id}: ${first}, then ${payload}`);
      }
      refunds.set(id, first ?? payload);
    }
  }
}

/** Refunds never exceed what was captured: in the store, and in what Wix was told. */
async function refundsWithinCapture(world: World, found: Found): Promise<void> {
  for (const [tx, events] of eventsBy(world, "refund")) {
    const record = (await world.store.get<TransactionRecord>(kvKeys.transaction(tx))).value;
    const succeeded = new Map<string, number>();
    for (const event of events) {
      if (event.reasonCode === undefined) {
        succeeded.set(event.pluginRefundId as string, Number(event.amount));
      }
    }
    const total = [...succeeded.values()].reduce((sum, amount) => sum + amount, 0);
    if (record && total > record.capturedAmount) {
      found(
        "refunds-within-capture",
        `${tx}: Wix was told of ${total} refunded, ${record.capturedAmount} captured`,
      );
    }
  }
}

/** Every final answer Wix was given is in a webhook it got, or in a visible dead letter. */
async function finalAnswersReported(world: World, observed: Observed, found: Found): Promise<void> {
  const finals = eventsBy(world, "transaction");
  for (const answer of observed.answers) {
    if (answer.kind !== "create" || !answer.ok || !answer.body) continue;
    if (answer.body.redirectUrl !== undefined || isPendingCode(answer.body.reasonCode)) continue;
    const said = verdict(answer.body);
    const got = (finals.get(answer.key) ?? []).filter((e) => !isPendingCode(e.reasonCode));
    if (got.some((event) => verdict(event) === said)) continue;
    if (await hasDeadLetter(world, answer.key)) continue;
    found(
      "final-answers-reported",
      `${answer.key} was answered ${said}; Wix got ${
        got.map(verdict).join(", ") || "no final event"
      }`,
    );
  }
}

async function hasDeadLetter(world: World, wixTransactionId: string): Promise<boolean> {
  for await (
    const entry of world.store.list<string>({
      prefix: kvKeys.transactionWebhooksPrefix(wixTransactionId),
    })
  ) {
    const record = (await world.store.get<WebhookRecord>(kvKeys.webhook(entry.value))).value;
    if (record?.state === "dead") return true;
  }
  return false;
}

/**
 * Replays got the first answer: a payment's final answer never changes, a refund's answer never
 * does, nor does a capture's or void's once it succeeded. (A refused capture or void is not
 * kept: its repeat is answered from the state then, as §7.2 asks.)
 */
function replaysAnsweredTheFirstAnswer(observed: Observed, found: Found): void {
  const first = new Map<string, string>();
  for (const answer of observed.answers) {
    if (!answer.ok || !answer.body) continue;
    const pending = answer.body.redirectUrl !== undefined || isPendingCode(answer.body.reasonCode);
    if (answer.kind === "create" && pending) continue;
    const refused = answer.body.reasonCode !== undefined;
    if ((answer.kind === "capture" || answer.kind === "void") && refused) continue;
    const id = `${answer.kind}:${answer.key}`;
    const body = JSON.stringify(answer.body);
    const earlier = first.get(id);
    if (earlier !== undefined && earlier !== body) {
      found("replays-answered-alike", `${id}: ${earlier}, then ${body}`);
    }
    first.set(id, earlier ?? body);
  }
}

/** No payment is left claimed: every one reached an answer Wix could be given. */
async function noClaimLeft(world: World, found: Found): Promise<void> {
  for await (
    const entry of world.store.list<TransactionRecord>({ prefix: kvKeys.transactionPrefix() })
  ) {
    if (entry.key.length === 2 && entry.value.status === "processing") {
      found("no-claim-left", `${entry.value.wixTransactionId} is still processing after settling`);
    }
  }
}
