/**
 * Webhook delivery on a thread of its own: the request thread keeps only what it must (the
 * outbox's pre-lease and announcement, dead letters, redelivery) and hands every attempt to a
 * `Worker` running `thread_entry.ts` on its own KV connection. The lease protocol is the same
 * as in-thread, so several instances and a crash behave as before. A worker that dies is
 * logged as an error and started again; what it held stays owed in the store, and is picked up
 * again when its leases run out.
 * @module
 */

import { systemClock } from "../common/mod.ts";
import type { Logger } from "../common/mod.ts";
import { recordStoreFailure, recordWebhookAttempt } from "../telemetry/mod.ts";
import { leaseOwners } from "./attempt.ts";
import { deadLetters } from "./dead_letters.ts";
import type { DeliveryConfig, WebhookDelivery } from "./types.ts";
import type { OutboxListener } from "./outbox.ts";
import { attemptLeaseMs } from "./retry_policy.ts";
import type { FromDeliveryThread, ToDeliveryThread } from "./thread_messages.ts";

/** What the delivery thread needs: the store's path (a local file) and the settings. */
export interface DeliveryThreadOptions {
  kv: Deno.Kv;
  kvPath: string;
  config: DeliveryConfig;
  logger: Logger;
}

const RESTART_AFTER_MS = 1000;

/**
 * The delivery thread's life: a `Worker` started on `thread_entry.ts`, messages to it, the
 * sweeps it is asked for, its log lines and metrics taken in, and a new one a second after it
 * dies. Sweeps waiting on a thread that died settle at once (the next sweep asks the new one).
 */
class DeliveryThread {
  readonly #sweeps = new Map<number, () => void>();
  #calls = 0;
  #stopping: PromiseWithResolvers<void> | undefined;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #alive = false;
  #worker: Worker;

  constructor(private readonly options: DeliveryThreadOptions) {
    this.#worker = this.#spawn();
  }

  get stopping(): boolean {
    return this.#stopping !== undefined;
  }

  post(message: ToDeliveryThread): void {
    if (!this.#stopping) this.#worker.postMessage(message);
  }

  /** One sweeper pass on the thread; settles when it is done (or the thread is gone). */
  sweep(): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    const call = ++this.#calls;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#sweeps.set(call, resolve);
    this.#worker.postMessage({ type: "sweep", call } satisfies ToDeliveryThread);
    return promise;
  }

  /** Lets the thread finish its attempts and close its KV, then ends it. */
  async stop(): Promise<void> {
    if (this.#stopping) return await this.#stopping.promise;
    this.#stopping = Promise.withResolvers<void>();
    clearTimeout(this.#restartTimer);
    if (this.#alive) this.#worker.postMessage({ type: "stop" } satisfies ToDeliveryThread);
    else this.#stopping.resolve();
    await this.#stopping.promise;
    this.#worker.terminate();
    this.#settleSweeps();
  }

  #spawn(): Worker {
    this.#alive = true;
    const worker = new Worker(new URL("./thread_entry.ts", import.meta.url), { type: "module" });
    worker.onmessage = (event: MessageEvent<FromDeliveryThread>) => this.#receive(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.#crashed(event.message);
    };
    const { kvPath, config } = this.options;
    worker.postMessage(
      { type: "start", kvPath, config: deliverySettings(config) } satisfies ToDeliveryThread,
    );
    return worker;
  }

  #receive(message: FromDeliveryThread): void {
    switch (message.type) {
      case "log":
        return this.options.logger[message.level](message.msg, message.fields);
      case "attempt":
        return recordWebhookAttempt(message.result, message.lagMs);
      case "storeFailure":
        return recordStoreFailure();
      case "swept":
        this.#sweeps.get(message.call)?.();
        return void this.#sweeps.delete(message.call);
      case "failed":
        return this.#crashed(`it could not start: ${message.error}`);
      case "stopped":
        return this.#stopping?.resolve();
    }
  }

  /** The thread died: say so, release whoever waits on it, start another one. */
  #crashed(why: string): void {
    this.#alive = false;
    this.#worker.terminate();
    this.#settleSweeps();
    if (this.#stopping) return this.#stopping.resolve();
    this.options.logger.error("the webhook delivery thread stopped; starting it again", {
      error: why,
      restartInMs: RESTART_AFTER_MS,
    });
    this.#restartTimer ??= setTimeout(() => {
      this.#restartTimer = undefined;
      if (!this.#stopping) this.#worker = this.#spawn();
    }, RESTART_AFTER_MS);
  }

  #settleSweeps(): void {
    for (const done of this.#sweeps.values()) done();
    this.#sweeps.clear();
  }
}

/** Starts delivery on a worker thread (webhooks must be enabled: Wix app id and secret set). */
export function createThreadedDelivery(options: DeliveryThreadOptions): WebhookDelivery {
  const { kv, logger, config } = options;
  const leaseMs = attemptLeaseMs(config.webhookTimeoutMs);
  const newLeaseOwner = leaseOwners();
  const thread = new DeliveryThread(options);
  const kick = (id: string) => thread.post({ type: "kick", id });
  const outboxListener: OutboxListener = {
    leaseForFirstAttempt(now) {
      if (thread.stopping) return undefined;
      return { owner: newLeaseOwner(), until: now + leaseMs };
    },
    owed: (record, versionstamp) => thread.post({ type: "owed", record, versionstamp }),
  };
  return {
    enabled: true,
    mode: "poll",
    thread: "worker",
    start() {},
    sweep: () => thread.sweep(),
    kick,
    outboxListener,
    ...deadLetters({ kv, clock: systemClock, useQueue: false, logger }, kick),
    stop: () => thread.stop(),
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
