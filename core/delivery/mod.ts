/**
 * Webhook delivery: every outbox record reaches Wix's Submit Event API, in order per
 * transaction, never contradicting an earlier event, retried on a long schedule, and
 * dead-lettered visibly (and redeliverably) when the schedule runs out. Owns the outbox, the
 * webhook records, the retry policy, the ordering rules, the Wix client (OAuth + Submit Event),
 * the worker, the delivery thread (`DELIVERY_THREAD=worker`) and the dead letters. May import
 * `common`, `store` and `telemetry`; never `payments`, `http`, routes or `cli` (payments owe
 * webhooks through the {@link Outbox} interface).
 * @module
 */

import { systemClock } from "../common/mod.ts";
import type { Clock } from "../common/mod.ts";
import type { Logger } from "../common/mod.ts";
import { deadLetters } from "./dead_letters.ts";
import type { DeadLetters } from "./dead_letters.ts";
import type { OutboxListener, WebhookQueueMessage } from "./outbox.ts";
import { createWixClient } from "./wix_client.ts";
import type { WixClient, WixClientConfig } from "./wix_client.ts";
import { createWorker } from "./worker.ts";
import { attemptLeaseMs } from "./retry_policy.ts";
import { createThreadedDelivery } from "./thread_host.ts";

export { createOutbox, newWebhookId } from "./outbox.ts";
export type { Outbox, OutboxListener, OwingRecord, WebhookQueueMessage } from "./outbox.ts";
export type { DeadLetters, RedeliverResult } from "./dead_letters.ts";
export { planDelivery } from "./ordering.ts";
export type { DeliveryPlan } from "./ordering.ts";
export { firstAttemptDelay, nextDelay, parseRetryAfter } from "./retry_policy.ts";
export { settleAttempt } from "./attempt.ts";
export { countWebhookBacklog } from "./backlog.ts";
export type { WebhookBacklog } from "./backlog.ts";
export * from "./records.ts";
export type { SendResult, WixClient } from "./wix_client.ts";

/** What delivery needs from the configuration. */
export interface DeliveryConfig extends WixClientConfig {
  webhookRetrySchedule: number[];
  webhookConcurrency: number;
  /** Backlog deliveries a second while payments are being made (0: not paced). */
  webhookDrainRate?: number;
}

/** Delivery's collaborators. */
export interface DeliveryOptions {
  kv: Deno.Kv;
  config: DeliveryConfig;
  logger: Logger;
  clock: Clock;
  /** Whether owed webhooks are announced on the KV queue (else the sweeper alone drives). */
  useQueue: boolean;
  /** How Wix is called (default: over HTTP, `createWixClient(config)`). */
  client?: WixClient;
  /**
   * The local KV file to deliver from on a worker thread of its own (`thread_host.ts`). Taken
   * only with the wall clock, no queue and no `client`; otherwise attempts run on this thread.
   */
  threadKvPath?: string;
}

/** The running delivery (with the dead-letter operations of {@link DeadLetters}). */
export interface WebhookDelivery extends DeadLetters {
  /** False when `WIX_APP_ID`/`WIX_APP_SECRET` are unset: webhooks stay owed, nothing is sent. */
  readonly enabled: boolean;
  readonly mode: "queue" | "poll";
  /** Where attempts run: a worker thread of their own, or the thread that answers requests. */
  readonly thread: "worker" | "main";
  /** Starts the queue listener (queue mode). The caller drives {@link sweep} on a timer. */
  start(): void;
  /** Kicks every record that is due now (bounded per pass). */
  sweep(): Promise<void>;
  /** Asks for one record to be looked at now. */
  kick(id: string): void;
  /** The outbox's listener: first attempts pre-leased in the owing write, then sent at once. */
  readonly outboxListener: OutboxListener;
  /** Stops taking work and waits for attempts in flight. Close the KV afterwards. */
  stop(): Promise<void>;
  /** Settles once the queue listener has ended (after the KV is closed). */
  listenerClosed(): Promise<void>;
}

const silentListener: OutboxListener = {
  holds: true,
  leaseForFirstAttempt: () => undefined,
  owed: () => {},
};

/** Creates webhook delivery: the worker, its queue listener and the dead-letter functions. */
export function createWebhookDelivery(options: DeliveryOptions): WebhookDelivery {
  const { kv, config, logger, clock, useQueue } = options;
  const enabled = config.wixAppId !== undefined && config.wixAppSecret !== undefined;
  const { threadKvPath } = options;
  if (enabled && threadKvPath && !useQueue && !options.client && clock === systemClock) {
    return createThreadedDelivery({ kv, kvPath: threadKvPath, config, logger });
  }
  const worker = createWorker({
    kv,
    logger,
    clock,
    useQueue,
    leaseMs: attemptLeaseMs(config.webhookTimeoutMs),
    retrySchedule: config.webhookRetrySchedule,
    client: options.client ?? createWixClient(config),
    concurrency: config.webhookConcurrency,
    drainRatePerSecond: config.webhookDrainRate ?? 0,
    callTimeoutMs: config.webhookTimeoutMs,
  }, logger);
  let listener: Promise<void> | undefined;
  let stopped = false;
  const kick = (id: string) => enabled && worker.kick(id);
  return {
    enabled,
    mode: useQueue ? "queue" : "poll",
    thread: "main",
    start() {
      if (!useQueue || listener) return;
      listener = kv.listenQueue((message: unknown) => {
        const msg = message as Partial<WebhookQueueMessage> | null;
        if (msg?.type === "webhook" && typeof msg.id === "string") kick(msg.id);
      }).catch((error) => {
        if (!stopped) logger.error("queue listener stopped", { error });
      });
    },
    sweep: () => enabled ? worker.sweep() : Promise.resolve(),
    kick,
    outboxListener: enabled ? worker.outboxListener : silentListener,
    ...deadLetters({ kv, clock, useQueue, logger }, kick),
    async stop() {
      stopped = true;
      await worker.stop();
    },
    async listenerClosed() {
      await listener;
    },
  };
}
