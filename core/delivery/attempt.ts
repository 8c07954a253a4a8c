/**
 * The stages of one delivery attempt, each a function of its own (the call itself is
 * `wix_client.ts`):
 *
 * - **prepare**: {@link leaseWebhook} takes a lease on a due record with a checked write, after
 *   applying the ordering rules, so two workers or processes never send one record at once;
 * - **handle success / failure**: {@link settleAttempt} decides, purely, what the attempt makes
 *   of the record (delivered, retried after the policy's delay, or dead), and
 *   {@link recordAttempt} writes that under the lease, with the due-time index, the queue
 *   message of a retry and the dead-letter index.
 * @module
 */

import type { Clock } from "../common/mod.ts";
import type { Logger } from "../common/mod.ts";
import { atomicRetry, deferCommit, getExisting, knownEntry, kvKeys } from "../store/mod.ts";
import { isLeased, isPendingTxEvent, planDelivery } from "./ordering.ts";
import type { WebhookQueueMessage } from "./outbox.ts";
import { listTransactionWebhooks } from "./records.ts";
import type { WebhookAttempt, WebhookRecord } from "./records.ts";
import { nextDelay } from "./retry_policy.ts";
import type { SendResult } from "./wix_client.ts";

/** What the attempt stages work with. */
export interface AttemptContext {
  kv: Deno.Kv;
  logger: Logger;
  clock: Clock;
  /** Whether retries are announced on the KV queue. */
  useQueue: boolean;
  /** How long a lease protects an attempt. */
  leaseMs: number;
  retrySchedule: number[];
}

/** How many attempts a record keeps for operators. */
const MAX_KEPT_ATTEMPTS = 20;

/**
 * Leases `id` for `owner` if it may be sent now (due, or `force` on a first attempt), after the
 * ordering rules: superseding what must never be sent, or deferring behind an earlier record.
 * A lease `owner` already holds (a pre-lease about to run out) is renewed.
 */
export async function leaseWebhook(
  ctx: AttemptContext,
  id: string,
  force: boolean,
  owner: string,
): Promise<LeasedWebhook | undefined> {
  let versionstamp = "";
  const record = await atomicRetry<WebhookRecord | undefined>(async () => {
    const now = ctx.clock.now();
    const entry = await ctx.kv.get<WebhookRecord>(kvKeys.webhook(id));
    const record = entry.value;
    const leasedByOther = record?.lease && record.lease.until > now && record.lease.owner !== owner;
    if (!record || record.state !== "queued" || leasedByOther) return { done: undefined };
    if (record.nextAttemptAt > now && !(force && record.attemptCount === 0)) {
      return { done: undefined };
    }
    const siblings = await listTransactionWebhooks(ctx.kv, record.wixTransactionId);
    const plan = planDelivery(siblings.map((e) => e.value), record, now);
    // Only the records written are checked (KV allows 100 checks per operation): the ones
    // merely read are either settled, which is final, or only delay this one.
    // No request waits for a lease: it may ride in a request's commit (deferCommit).
    const op = deferCommit(ctx.kv.atomic()).check(entry);
    if (plan.action === "supersede") {
      supersede(ctx, op, record, plan.reason, now);
      return { commit: op, value: undefined };
    }
    if (plan.action === "wait") {
      const until = Math.max(plan.until, now + 10);
      op.delete(kvKeys.webhookDue(record.nextAttemptAt, id))
        .set(kvKeys.webhookDue(until, id), null)
        .set(kvKeys.webhook(id), { ...record, nextAttemptAt: until });
      return { commit: op, value: undefined };
    }
    for (const earlierId of plan.supersede) {
      const earlier = siblings.find((e) => e.value.id === earlierId)!;
      op.check(earlier);
      supersede(
        ctx,
        op,
        earlier.value,
        `superseded by ${record.id}, a final transaction event`,
        now,
      );
    }
    const leased: WebhookRecord = { ...record, lease: { owner, until: now + ctx.leaseMs } };
    op.set(kvKeys.webhook(id), leased);
    return { commit: op, value: leased };
  }, (_, stamp) => versionstamp = stamp);
  return record && { record, versionstamp };
}

/**
 * Leases, in one write, the records of `ids` that need no look at their transaction's other
 * webhooks: a transaction's first webhook, when it is not a pending event (nothing was owed
 * before it, and only a pending event can be superseded by a later one). A drain after an
 * outage is mostly such records; each then costs no lease read and no lease write of its own.
 * The others, and any whose check fails (another worker took it meanwhile), are left out for
 * {@link leaseWebhook}, one by one.
 */
export async function leaseFirstWebhooks(
  ctx: AttemptContext,
  ids: string[],
  newOwner: () => string,
): Promise<LeasedWebhook[]> {
  const now = ctx.clock.now();
  const entries = (await getExisting<WebhookRecord>(ctx.kv, ids.map((id) => kvKeys.webhook(id))))
    .filter(({ value: r }) =>
      r.state === "queued" && r.seq === 1 && !isPendingTxEvent(r) && !isLeased(r, now) &&
      r.nextAttemptAt <= now
    );
  const leased: LeasedWebhook[] = [];
  // KV takes 100 checks per operation; a page of 50 records also stays far below its size limit.
  for (let i = 0; i < entries.length; i += 50) {
    const page = entries.slice(i, i + 50);
    const op = deferCommit(ctx.kv.atomic());
    const records = page.map((entry) => {
      const record: WebhookRecord = {
        ...entry.value,
        lease: { owner: newOwner(), until: now + ctx.leaseMs },
      };
      op.check(entry).set(entry.key, record);
      return record;
    });
    const result = await op.commit();
    if (!result.ok) continue;
    for (const record of records) leased.push({ record, versionstamp: result.versionstamp });
  }
  return leased;
}

/**
 * Mints lease owners for one delivery instance: its own prefix (which instance took a lease, in
 * the records operators read), then a fresh id per lease, so no two attempts share one.
 */
export function leaseOwners(): () => string {
  const instance = crypto.randomUUID();
  return () => `${instance}:${crypto.randomUUID()}`;
}

/** A record this process holds the lease of, as written at `versionstamp`. */
export interface LeasedWebhook {
  record: WebhookRecord;
  versionstamp: string;
}

/** Adds marking `record` superseded (never to be sent) to `op`. */
export function supersede(
  ctx: AttemptContext,
  op: Deno.AtomicOperation,
  record: WebhookRecord,
  note: string,
  now: number,
): void {
  op.delete(kvKeys.webhookDue(record.nextAttemptAt, record.id))
    .set(kvKeys.webhook(record.id), {
      ...record,
      state: "superseded",
      note,
      lease: undefined,
      deadAt: undefined,
    });
  ctx.logger.info("webhook superseded", {
    webhookId: record.id,
    wixTransactionId: record.wixTransactionId,
    note,
    at: now,
  });
}

/** What an attempt makes of its record: the next record, and the retry delay if it is retried. */
export function settleAttempt(
  record: WebhookRecord,
  result: SendResult,
  attempt: WebhookAttempt,
  schedule: number[],
  finished: number,
): { next: WebhookRecord; retryDelay?: number } {
  const attempts = [...record.attempts, attempt].slice(-MAX_KEPT_ATTEMPTS);
  const attemptCount = record.attemptCount + 1;
  const base = { ...record, attempts, attemptCount, lease: undefined };
  if (result.ok) return { next: { ...base, state: "delivered", deliveredAt: finished } };
  const delay = nextDelay(schedule, attemptCount, result.retryAfterMs);
  if (delay === undefined) return { next: { ...base, state: "dead", deadAt: finished } };
  return { next: { ...base, nextAttemptAt: finished + delay }, retryDelay: delay };
}

/**
 * Writes an attempt's result under the lease of `leased`: delivered, queued for a retry, or
 * dead. The first try writes over the leased record without reading it (a changed record fails
 * the check, and the next try reads). Returns the settled record, or `undefined` when the lease
 * was lost meanwhile.
 */
export async function recordAttempt(
  ctx: AttemptContext,
  leased: LeasedWebhook,
  result: SendResult,
  attempt: WebhookAttempt,
  finished: number,
): Promise<WebhookRecord | undefined> {
  const { id } = leased.record;
  const owner = leased.record.lease?.owner;
  return await atomicRetry<WebhookRecord | undefined>(async (tries) => {
    const entry = tries === 1
      ? knownEntry(kvKeys.webhook(id), leased.record, leased.versionstamp)
      : await ctx.kv.get<WebhookRecord>(kvKeys.webhook(id));
    const current = entry.value;
    if (!current || !owner || current.lease?.owner !== owner) return { done: undefined }; // lost
    const { next, retryDelay } = settleAttempt(
      current,
      result,
      attempt,
      ctx.retrySchedule,
      finished,
    );
    const op = deferCommit(ctx.kv.atomic()).check(entry)
      .delete(kvKeys.webhookDue(current.nextAttemptAt, id))
      .set(kvKeys.webhook(id), next);
    if (next.state === "dead") {
      op.set(kvKeys.webhookDead(id), null).sum(kvKeys.webhookDeadTotal(), 1n);
    } else if (retryDelay !== undefined) {
      op.set(kvKeys.webhookDue(next.nextAttemptAt, id), null);
      if (ctx.useQueue) {
        op.enqueue({ type: "webhook", id } satisfies WebhookQueueMessage, { delay: retryDelay });
      }
    }
    return { commit: op, value: next };
  });
}

/** Logs a settled attempt at the level its outcome deserves. */
export function logAttempt(
  logger: Logger,
  settled: WebhookRecord,
  result: SendResult,
  attempt: WebhookAttempt,
): void {
  const fields = {
    webhookId: settled.id,
    wixTransactionId: settled.wixTransactionId,
    kind: settled.kind,
    attempt: settled.attemptCount,
    status: result.status,
    durationMs: attempt.durationMs,
  };
  if (settled.state === "delivered") {
    logger.info("webhook delivered", fields);
  } else if (settled.state === "dead") {
    logger.error("webhook dead-lettered after its last attempt", {
      ...fields,
      error: attempt.error,
    });
  } else {
    logger.warn("webhook attempt failed", {
      ...fields,
      error: attempt.error,
      nextAttemptAt: new Date(settled.nextAttemptAt).toISOString(),
    });
  }
}
