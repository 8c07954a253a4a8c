/**
 * The outbox records: one per webhook owed, with its attempts and where it is in its life, and
 * the reads delivery and the PSP API need.
 * @module
 */

import { getExisting, kvKeys } from "../store/mod.ts";

/** The Submit Event body: exactly one of the four event kinds (spec §3.3). */
export type SubmitEventBody = { event: Partial<Record<WebhookKind, Record<string, unknown>>> };

/** The event kinds of Submit Event. */
export type WebhookKind = "transaction" | "refund" | "capture" | "void";

/** Where an owed webhook is in its life. */
export type WebhookState = "queued" | "delivered" | "dead" | "superseded";

/** One delivery attempt, as shown to operators. */
export interface WebhookAttempt {
  at: number;
  durationMs: number;
  /** HTTP status of Submit Event (or of the token call when that failed). */
  status?: number;
  error?: string;
}

/** An owed webhook (outbox record). */
export interface WebhookRecord {
  id: string;
  wixTransactionId: string;
  /** Order among the transaction's webhooks. */
  seq: number;
  kind: WebhookKind;
  /** For transaction events: pending (5005/5009) or final. Other kinds are always final. */
  phase: "pending" | "final";
  body: SubmitEventBody;
  state: WebhookState;
  /** Attempts in the current round of the retry schedule (reset by redelivery). */
  attemptCount: number;
  /** Most recent attempts, oldest first (bounded). */
  attempts: WebhookAttempt[];
  /** When the next attempt is due, while queued. */
  nextAttemptAt: number;
  lease?: { owner: string; until: number };
  createdAt: number;
  deliveredAt?: number;
  deadAt?: number;
  /**
   * Owed while the service that owed it had no Wix app configured, so nothing could send it
   * until one was: its wait is not delivery lag, and the console shows it apart.
   */
  heldWithoutWix?: true;
  /** Why it will not be sent (superseded records). */
  note?: string;
}

/**
 * Lists a transaction's webhooks with their KV entries, in the order they were owed; with
 * `afterSeq`, only those owed after that one (only their index entries are read, so usually
 * no record is).
 */
export async function listTransactionWebhooks(
  kv: Deno.Kv,
  wixTransactionId: string,
  afterSeq?: number,
): Promise<Deno.KvEntry<WebhookRecord>[]> {
  const prefix = kvKeys.transactionWebhooksPrefix(wixTransactionId);
  const selector = afterSeq === undefined
    ? { prefix }
    : { prefix, start: kvKeys.transactionWebhook(wixTransactionId, afterSeq + 1) };
  const ids: string[] = [];
  for await (const entry of kv.list<string>(selector)) ids.push(entry.value);
  return (await getWebhooks(kv, ids)).sort((a, b) => a.value.seq - b.value.seq);
}

/** Reads webhook records by id, skipping ids that are gone. */
export function getWebhooks(kv: Deno.Kv, ids: string[]): Promise<Deno.KvEntry<WebhookRecord>[]> {
  return getExisting<WebhookRecord>(kv, ids.map((id) => kvKeys.webhook(id)));
}
