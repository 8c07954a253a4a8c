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
import type { OutboxListener, WebhookQueueMessage } from "./outbox.ts";
import { createWixClient } from "./wix_client.ts";
import type { WixClient } from "./wix_client.ts";
import { createWorker } from "./worker.ts";
import { attemptLeaseMs } from "./retry_policy.ts";
import { createThreadedDelivery } from "./thread_host.ts";
import type { DeliveryConfig, WebhookDelivery } from "./types.ts";

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
export type { DeliveryConfig, WebhookDelivery } from "./types.ts";

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
