/**
 * Webhook delivery on a thread of its own: the request thread keeps only what it must (the
 * outbox's pre-lease and announcement, dead letters, redelivery) and hands every attempt to a
 * `Worker` running `thread_entry.ts` on its own KV connection. The lease protocol is the same
 * as in-thread, so several instances and a crash behave as before. A worker that dies is
 * logged as an error and started again; what it held stays owed in the store, and is picked up
 * again when its leases run out.
 * @module
 */

import type { Logger } from "../common/mod.ts";
import { recordStoreFailure, recordWebhookAttempt } from "../telemetry/mod.ts";
import { deadWebhookTotal, listDeadWebhooks, requeueDeadWebhook } from "./dead_letters.ts";
import type { DeliveryConfig, WebhookDelivery } from "./mod.ts";
import type { OutboxListener } from "./outbox.ts";
import type { FromDeliveryThread, ToDeliveryThread } from "./thread_messages.ts";
import { systemClock } from "../common/mod.ts";

/** What the delivery thread needs: the store's path (a local file) and the settings. */
export interface DeliveryThreadOptions {
  kv: Deno.Kv;
  kvPath: string;
  config: DeliveryConfig;
  logger: Logger;
}

const RESTART_AFTER_MS = 1000;

/** Starts delivery on a worker thread (webhooks must be enabled: Wix app id and secret set). */
export function createThreadedDelivery(options: DeliveryThreadOptions): WebhookDelivery {
  const { kv, logger, config } = options;
  const leaseMs = 2 * config.webhookTimeoutMs + 2_000;
  const instance = crypto.randomUUID();
  const sweeps = new Map<number, () => void>();
  let calls = 0;
  let stopping: PromiseWithResolvers<void> | undefined;
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  let alive = false;
  let worker = spawn();

  function spawn(): Worker {
    alive = true;
    const spawned = new Worker(new URL("./thread_entry.ts", import.meta.url), { type: "module" });
    spawned.onmessage = (event: MessageEvent<FromDeliveryThread>) => receive(event.data);
    spawned.onerror = (event) => {
      event.preventDefault();
      crashed(event.message);
    };
    post({ type: "start", kvPath: options.kvPath, config: deliverySettings(config) }, spawned);
    return spawned;
  }

  function post(message: ToDeliveryThread, to = worker): void {
    to.postMessage(message);
  }

  function receive(message: FromDeliveryThread): void {
    switch (message.type) {
      case "log":
        return logger[message.level](message.msg, message.fields);
      case "attempt":
        return recordWebhookAttempt(message.result, message.lagMs);
      case "storeFailure":
        return recordStoreFailure();
      case "swept":
        sweeps.get(message.call)?.();
        return void sweeps.delete(message.call);
      case "failed":
        return crashed(`it could not start: ${message.error}`);
      case "stopped":
        return stopping?.resolve();
    }
  }

  /** The worker died: say so, release whoever waits on it, start another one. */
  function crashed(why: string): void {
    alive = false;
    worker.terminate();
    for (const done of sweeps.values()) done();
    sweeps.clear();
    if (stopping) return stopping.resolve();
    logger.error("the webhook delivery thread stopped; starting it again", {
      error: why,
      restartInMs: RESTART_AFTER_MS,
    });
    restartTimer ??= setTimeout(() => {
      restartTimer = undefined;
      if (!stopping) worker = spawn();
    }, RESTART_AFTER_MS);
  }

  const outboxListener: OutboxListener = {
    leaseForFirstAttempt(now) {
      if (stopping) return undefined;
      return { owner: `${instance}:${crypto.randomUUID()}`, until: now + leaseMs };
    },
    owed(record, versionstamp) {
      if (!stopping) post({ type: "owed", record, versionstamp });
    },
  };

  return {
    enabled: true,
    mode: "poll",
    thread: "worker",
    start() {},
    sweep() {
      if (stopping) return Promise.resolve();
      const call = ++calls;
      const { promise, resolve } = Promise.withResolvers<void>();
      sweeps.set(call, resolve);
      post({ type: "sweep", call });
      return promise;
    },
    kick: (id) => !stopping && post({ type: "kick", id }),
    outboxListener,
    async redeliver(id) {
      const result = await requeueDeadWebhook(kv, systemClock, false, id);
      if (result.ok) {
        const { wixTransactionId } = result.record;
        logger.info("webhook redelivery requested", { webhookId: id, wixTransactionId });
        post({ type: "kick", id });
      }
      return result;
    },
    listDead: (limit) => listDeadWebhooks(kv, limit),
    deadTotal: () => deadWebhookTotal(kv),
    async stop() {
      if (stopping) return await stopping.promise;
      stopping = Promise.withResolvers<void>();
      clearTimeout(restartTimer);
      if (alive) post({ type: "stop" });
      else stopping.resolve();
      await stopping.promise;
      worker.terminate();
      for (const done of sweeps.values()) done();
    },
    listenerClosed: () => Promise.resolve(),
  };
}

/** Only the delivery settings cross to the thread (the service's config holds other secrets). */
function deliverySettings(config: DeliveryConfig): DeliveryConfig {
  return {
    wixApiBaseUrl: config.wixApiBaseUrl,
    wixAppId: config.wixAppId,
    wixAppSecret: config.wixAppSecret,
    pspName: config.pspName,
    pspVersion: config.pspVersion,
    webhookTimeoutMs: config.webhookTimeoutMs,
    webhookRetrySchedule: config.webhookRetrySchedule,
    webhookConcurrency: config.webhookConcurrency,
    webhookDrainRate: config.webhookDrainRate,
  };
}
