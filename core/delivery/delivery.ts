/**
 * Webhook delivery: every outbox record reaches Wix's Submit Event API, in order per
 * transaction, never contradicting an earlier event, retried on a long schedule, and
 * dead-lettered visibly (and redeliverably) when the schedule runs out.
 *
 * Drivers: a KV queue message (when the KV has queues) and a sweeper pass both only "kick" a
 * record id; the record decides. An attempt first takes a lease on the record with a checked
 * atomic write, so two workers or two processes never send the same record at once. Attempts
 * run under a concurrency cap. Each attempt fetches a fresh OAuth token (spec §3.1).
 * @module
 */

import { atomicRetry, isLocalKvFile } from "../store/kv.ts";
import { kvKeys } from "../store/keys.ts";
import type { Logger } from "../common/log.ts";
import type { OutboxListener, WebhookQueueMessage } from "./outbox.ts";
import { getWebhooks, listTransactionWebhooks } from "../payments/records.ts";
import type { WebhookAttempt, WebhookRecord } from "../payments/records.ts";

/** What delivery needs from the configuration. */
export interface DeliveryConfig {
  wixApiBaseUrl: string;
  wixAppId?: string;
  wixAppSecret?: string;
  pspName: string;
  pspVersion: string;
  webhookRetrySchedule: number[];
  webhookConcurrency: number;
  webhookTimeoutMs: number;
}

/** Delivery's collaborators. */
export interface DeliveryOptions {
  kv: Deno.Kv;
  config: DeliveryConfig;
  logger: Logger;
  /** Whether owed webhooks are announced on the KV queue (else the sweeper alone drives). */
  useQueue: boolean;
}

/** The outcome of asking for a dead-lettered webhook to be sent again. */
export type RedeliverResult =
  | { ok: true; record: WebhookRecord }
  | { ok: false; status: 404 | 409; code: string; message: string };

/** The running delivery worker. */
export interface WebhookDelivery {
  /** False when `WIX_APP_ID`/`WIX_APP_SECRET` are unset: webhooks stay owed, nothing is sent. */
  readonly enabled: boolean;
  readonly mode: "queue" | "poll";
  /** Starts the queue listener (queue mode). The caller drives {@link sweep} on a timer. */
  start(): void;
  /** Kicks every record that is due now (bounded per pass). */
  sweep(): Promise<void>;
  /** Asks for one record to be looked at now. */
  kick(id: string): void;
  /** The outbox's listener: first attempts pre-leased in the owing write, then sent at once. */
  readonly outboxListener: OutboxListener;
  /** Moves a dead-lettered record back to the queue with a fresh schedule. */
  redeliver(id: string): Promise<RedeliverResult>;
  /** Dead-lettered records, oldest first. */
  listDead(limit?: number): Promise<WebhookRecord[]>;
  /** Stops taking work and waits for attempts in flight. Close the KV afterwards. */
  stop(): Promise<void>;
  /** Settles once the queue listener has ended (after the KV is closed). */
  listenerClosed(): Promise<void>;
}

/** What the ordering rules decide for one record among its transaction's records. */
export type DeliveryPlan =
  /** Send it, first marking these earlier pending events as superseded. */
  | { action: "deliver"; supersede: string[] }
  /** An earlier record must settle first; look again at `until`. */
  | { action: "wait"; until: number; blockedBy: string }
  /** Never send it: a final transaction event exists, so this pending one would go back in time. */
  | { action: "supersede"; reason: string };

const isPendingTxEvent = (r: WebhookRecord) => r.kind === "transaction" && r.phase === "pending";
const isFinalTxEvent = (r: WebhookRecord) => r.kind === "transaction" && r.phase === "final";
const isLeased = (r: WebhookRecord, now: number) => r.lease !== undefined && r.lease.until > now;

/**
 * The ordering rules (spec §3.4), in one pure function over a transaction's records sorted by
 * `seq`: records go out in the order they were owed; a pending transaction event that is still
 * owed when a final one exists is dropped rather than sent after it.
 */
export function planDelivery(
  records: WebhookRecord[],
  target: WebhookRecord,
  now: number,
): DeliveryPlan {
  const finalAfter = records.some((r) => r.seq > target.seq && isFinalTxEvent(r));
  if (isPendingTxEvent(target) && finalAfter) {
    return {
      action: "supersede",
      reason: "a final transaction event was owed after this pending one",
    };
  }
  const finalUpToTarget = records.some((r) => r.seq <= target.seq && isFinalTxEvent(r));
  const supersede: string[] = [];
  let wait: { until: number; blockedBy: string } | undefined;
  for (const earlier of records) {
    if (earlier.seq >= target.seq || earlier.state !== "queued") continue;
    if (isPendingTxEvent(earlier) && finalUpToTarget && !isLeased(earlier, now)) {
      supersede.push(earlier.id);
      continue;
    }
    const until = isLeased(earlier, now) ? earlier.lease!.until : earlier.nextAttemptAt;
    if (!wait || until < wait.until) wait = { until, blockedBy: earlier.id };
  }
  if (wait) return { action: "wait", ...wait };
  return { action: "deliver", supersede };
}

/**
 * The delay before the attempt after `failedAttempts` failures, with ±10% jitter and at least
 * a `Retry-After` the server asked for; `undefined` once the schedule is exhausted.
 */
export function nextDelay(
  schedule: number[],
  failedAttempts: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number | undefined {
  if (failedAttempts >= schedule.length) return undefined;
  const base = schedule[failedAttempts];
  const jittered = Math.round(base * (0.9 + 0.2 * random()));
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** Parses `Retry-After` (seconds or an HTTP date) into ms, capped at 24 hours. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const ms = /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, 86_400_000) : undefined;
}

const MAX_KEPT_ATTEMPTS = 20;

type SendResult = { ok: true; status: number } | {
  ok: false;
  status?: number;
  error: string;
  retryAfterMs?: number;
};

/** Creates the delivery worker. */
export function createWebhookDelivery(options: DeliveryOptions): WebhookDelivery {
  const { kv, config, logger } = options;
  const enabled = config.wixAppId !== undefined && config.wixAppSecret !== undefined;
  const instance = crypto.randomUUID();
  // An attempt is two calls of at most the timeout each; the margin covers KV writes.
  const leaseMs = 2 * config.webhookTimeoutMs + 2_000;
  /** Records to attempt, by id: whether forced, and the record when it is already leased here. */
  const waiting = new Map<string, { force: boolean; leased?: WebhookRecord }>();
  const inFlight = new Map<string, Promise<void>>();
  let stopped = false;

  function kick(id: string, force = false, leased?: WebhookRecord): void {
    if (stopped || !enabled || inFlight.has(id)) return;
    const queued = waiting.get(id);
    waiting.set(id, {
      force: force || (queued?.force ?? false),
      leased: leased ?? queued?.leased,
    });
    pump();
  }

  function pump(): void {
    while (!stopped && inFlight.size < config.webhookConcurrency && waiting.size > 0) {
      const [id, { force, leased }] = waiting.entries().next().value!;
      waiting.delete(id);
      const run = attempt(id, force, leased)
        .catch((error) => logger.error("webhook attempt crashed", { webhookId: id, error }))
        .finally(() => {
          inFlight.delete(id);
          pump();
          // A page of a large backlog is done: take the next at once, not at the next tick.
          if (backlog && waiting.size === 0) {
            backlog = false;
            sweep().catch((error) => logger.error("webhook sweep failed", { error }));
          }
        });
      inFlight.set(id, run);
    }
  }

  async function fetchWithTimeout(url: string, init: RequestInit): Promise<Response> {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(config.webhookTimeoutMs) });
  }

  /** One attempt: a fresh token, then Submit Event. Never throws. */
  async function send(record: WebhookRecord): Promise<SendResult> {
    const now = Date.now();
    try {
      const tokenResponse = await fetchWithTimeout(`${config.wixApiBaseUrl}/oauth/access`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          grant_type: "client_credentials",
          scope: "CASHIER.GET_ACCESS",
          client_id: config.wixAppId,
          client_secret: config.wixAppSecret,
        }),
      });
      if (tokenResponse.status !== 200) {
        await tokenResponse.body?.cancel();
        return {
          ok: false,
          status: tokenResponse.status,
          error: `token request answered HTTP ${tokenResponse.status}`,
          retryAfterMs: parseRetryAfter(tokenResponse.headers.get("retry-after"), now),
        };
      }
      const token = (await tokenResponse.json().catch(() => ({})))?.access_token;
      if (typeof token !== "string" || token === "") {
        return { ok: false, status: 200, error: "token response has no access_token" };
      }
      const response = await fetchWithTimeout(
        `${config.wixApiBaseUrl}/payments/v1/provider-platform-events`,
        {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "authorization": token,
            "user-agent": `${config.pspName}/${config.pspVersion}`,
          },
          body: JSON.stringify(record.body),
        },
      );
      await response.body?.cancel();
      if (response.status === 200) return { ok: true, status: 200 };
      return {
        ok: false,
        status: response.status,
        error: `Submit Event answered HTTP ${response.status}`,
        retryAfterMs: response.status === 429 || response.status === 503
          ? parseRetryAfter(response.headers.get("retry-after"), now)
          : undefined,
      };
    } catch (error) {
      const name = (error as Error).name;
      const message = name === "TimeoutError"
        ? `timed out after ${config.webhookTimeoutMs} ms`
        : `network error: ${(error as Error).message}`;
      return { ok: false, error: message };
    }
  }

  /** Leases `id` if it may be sent now; settles ordering first. Returns the leased record. */
  async function lease(
    id: string,
    force: boolean,
    owner: string,
  ): Promise<WebhookRecord | undefined> {
    return await atomicRetry<WebhookRecord | undefined>(async () => {
      const now = Date.now();
      const entry = await kv.get<WebhookRecord>(kvKeys.webhook(id));
      const record = entry.value;
      // A lease held by `owner` is ours (a pre-lease about to expire): renew it.
      if (
        !record || record.state !== "queued" ||
        (isLeased(record, now) && record.lease!.owner !== owner)
      ) {
        return { done: undefined };
      }
      if (record.nextAttemptAt > now && !(force && record.attemptCount === 0)) {
        return { done: undefined };
      }
      const siblings = await listTransactionWebhooks(kv, record.wixTransactionId);
      const plan = planDelivery(siblings.map((e) => e.value), record, now);
      // Only the records written are checked (KV allows 100 checks per operation): the ones
      // merely read are either settled, which is final, or only delay this one.
      const op = kv.atomic().check(entry);
      if (plan.action === "supersede") {
        supersede(op, record, plan.reason, now);
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
        supersede(op, earlier.value, `superseded by ${record.id}, a final transaction event`, now);
      }
      const leased: WebhookRecord = { ...record, lease: { owner, until: now + leaseMs } };
      op.set(kvKeys.webhook(id), leased);
      return { commit: op, value: leased };
    });
  }

  function supersede(
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
    logger.info("webhook superseded", {
      webhookId: record.id,
      wixTransactionId: record.wixTransactionId,
      note,
      at: now,
    });
  }

  async function attempt(id: string, force: boolean, leased?: WebhookRecord): Promise<void> {
    // A pre-leased record goes straight out while its lease holds; otherwise lease it now.
    const preLeased = leased?.lease && leased.lease.until > Date.now() + config.webhookTimeoutMs
      ? leased
      : undefined;
    // When the pre-lease is about to run out, lease() renews it for the same owner.
    const owner = leased?.lease?.owner ?? newLeaseOwner();
    const record = preLeased ?? await lease(id, force, owner);
    if (!record) return;
    const started = Date.now();
    const result = await send(record);
    const finished = Date.now();
    const attemptLog: WebhookAttempt = {
      at: started,
      durationMs: finished - started,
      status: result.status,
      error: result.ok ? undefined : result.error,
    };
    const settled = await atomicRetry<WebhookRecord | undefined>(async () => {
      const entry = await kv.get<WebhookRecord>(kvKeys.webhook(id));
      const current = entry.value;
      if (!current || current.lease?.owner !== owner) return { done: undefined }; // lease lost
      const attempts = [...current.attempts, attemptLog].slice(-MAX_KEPT_ATTEMPTS);
      const attemptCount = current.attemptCount + 1;
      const op = kv.atomic().check(entry).delete(kvKeys.webhookDue(current.nextAttemptAt, id));
      if (result.ok) {
        const next: WebhookRecord = {
          ...current,
          state: "delivered",
          attempts,
          attemptCount,
          lease: undefined,
          deliveredAt: finished,
        };
        return { commit: op.set(kvKeys.webhook(id), next), value: next };
      }
      const delay = nextDelay(config.webhookRetrySchedule, attemptCount, result.retryAfterMs);
      if (delay === undefined) {
        const next: WebhookRecord = {
          ...current,
          state: "dead",
          attempts,
          attemptCount,
          lease: undefined,
          deadAt: finished,
        };
        op.set(kvKeys.webhook(id), next).set(kvKeys.webhookDead(id), null).sum(
          kvKeys.webhookDeadTotal(),
          1n,
        );
        return { commit: op, value: next };
      }
      const dueAt = finished + delay;
      const next: WebhookRecord = {
        ...current,
        attempts,
        attemptCount,
        lease: undefined,
        nextAttemptAt: dueAt,
      };
      op.set(kvKeys.webhook(id), next).set(kvKeys.webhookDue(dueAt, id), null);
      if (options.useQueue) {
        op.enqueue({ type: "webhook", id } satisfies WebhookQueueMessage, { delay });
      }
      return { commit: op, value: next };
    });
    if (!settled) {
      logger.warn("webhook lease expired before the attempt was recorded", { webhookId: id });
      return;
    }
    const fields = {
      webhookId: id,
      wixTransactionId: settled.wixTransactionId,
      kind: settled.kind,
      attempt: settled.attemptCount,
      status: result.status,
      durationMs: attemptLog.durationMs,
    };
    if (settled.state === "delivered") {
      logger.info("webhook delivered", fields);
    } else if (settled.state === "dead") {
      logger.error("webhook dead-lettered after its last attempt", {
        ...fields,
        error: attemptLog.error,
      });
    } else {
      logger.warn("webhook attempt failed", {
        ...fields,
        error: attemptLog.error,
        nextAttemptAt: new Date(settled.nextAttemptAt).toISOString(),
      });
    }
    if (settled.state !== "queued") await kickSuccessors(settled);
  }

  /** After a record settles, the transaction's next owed record may go at once. */
  async function kickSuccessors(settled: WebhookRecord): Promise<void> {
    const siblings = await listTransactionWebhooks(kv, settled.wixTransactionId);
    const next = siblings.find((e) => e.value.seq > settled.seq && e.value.state === "queued");
    if (next) kick(next.value.id, true);
  }

  function newLeaseOwner(): string {
    return `${instance}:${crypto.randomUUID()}`;
  }

  const outboxListener: OutboxListener = {
    leaseForFirstAttempt(now) {
      if (stopped || !enabled) return undefined;
      return { owner: newLeaseOwner(), until: now + leaseMs };
    },
    owed(record) {
      kick(record.id, false, record.lease ? record : undefined);
    },
  };

  /** True while a backlog remains beyond the last sweep's page: sweep again once it drains. */
  let backlog = false;
  let sweeping = false;

  async function sweep(): Promise<void> {
    if (stopped || !enabled || sweeping) return;
    sweeping = true;
    try {
      const now = Date.now();
      const limit = Math.max(64, config.webhookConcurrency * 8);
      const due = kv.list<null>(
        { prefix: kvKeys.webhookDuePrefix(), end: kvKeys.webhookDue(now + 1, "") },
        { limit },
      );
      let count = 0;
      for await (const entry of due) {
        count++;
        kick(entry.key[2] as string);
      }
      backlog = count >= limit;
    } finally {
      sweeping = false;
    }
  }

  let listener: Promise<void> | undefined;

  return {
    enabled,
    mode: options.useQueue ? "queue" : "poll",
    start() {
      if (!options.useQueue || listener) return;
      listener = kv.listenQueue((message: unknown) => {
        const msg = message as Partial<WebhookQueueMessage> | null;
        if (msg?.type === "webhook" && typeof msg.id === "string") kick(msg.id);
      }).catch((error) => {
        if (!stopped) logger.error("queue listener stopped", { error });
      });
    },
    sweep,
    kick: (id) => kick(id),
    outboxListener,
    async redeliver(id) {
      const result = await atomicRetry<RedeliverResult>(async () => {
        const now = Date.now();
        const entry = await kv.get<WebhookRecord>(kvKeys.webhook(id));
        const record = entry.value;
        if (!record) {
          return {
            done: { ok: false, status: 404, code: "not_found", message: `no webhook ${id}` },
          };
        }
        if (record.state !== "dead") {
          return {
            done: {
              ok: false,
              status: 409,
              code: "not_dead",
              message: `webhook ${id} is ${record.state}, not dead`,
            },
          };
        }
        const siblings = await listTransactionWebhooks(kv, record.wixTransactionId);
        if (
          isPendingTxEvent(record) &&
          siblings.some((e) => e.value.seq > record.seq && isFinalTxEvent(e.value))
        ) {
          return {
            done: {
              ok: false,
              status: 409,
              code: "superseded",
              message:
                "a final transaction event exists; sending this pending event would go back in time",
            },
          };
        }
        const next: WebhookRecord = {
          ...record,
          state: "queued",
          attemptCount: 0,
          nextAttemptAt: now,
          deadAt: undefined,
        };
        const op = kv.atomic().check(entry).set(kvKeys.webhook(id), next)
          .delete(kvKeys.webhookDead(id)).set(kvKeys.webhookDue(now, id), null);
        if (options.useQueue) op.enqueue({ type: "webhook", id } satisfies WebhookQueueMessage);
        return { commit: op, value: { ok: true, record: next } };
      });
      if (result.ok) {
        logger.info("webhook redelivery requested", {
          webhookId: id,
          wixTransactionId: result.record.wixTransactionId,
        });
        kick(id);
      }
      return result;
    },
    async listDead(limit = 100) {
      const ids: string[] = [];
      for await (const entry of kv.list({ prefix: kvKeys.webhookDeadPrefix() }, { limit })) {
        ids.push(entry.key[1] as string);
      }
      const records = (await getWebhooks(kv, ids)).map((entry) => entry.value);
      return records.sort((a, b) => (a.deadAt ?? 0) - (b.deadAt ?? 0));
    },
    async stop() {
      stopped = true;
      waiting.clear();
      await Promise.allSettled([...inFlight.values()]);
    },
    async listenerClosed() {
      await listener;
    },
  };
}

/** Whether `kv` supports queues: remote KV and the new Deno Deploy do not (enqueue throws). */
export async function kvSupportsQueues(kv: Deno.Kv, kvPath: string): Promise<boolean> {
  if (!isLocalKvFile(kvPath) && kvPath !== ":memory:") return false;
  if (Deno.env.get("DENO_DEPLOYMENT_ID")) return false;
  try {
    await kv.enqueue({ type: "probe" });
    return true;
  } catch {
    return false;
  }
}
