/**
 * The two shapes delivery's parts share: the settings it takes and the running delivery it
 * returns, whether attempts run on the request thread (`mod.ts`) or a thread of their own
 * (`thread_host.ts`).
 * @module
 */

import type { DeadLetters } from "./dead_letters.ts";
import type { OutboxListener } from "./outbox.ts";
import type { WixClientConfig } from "./wix_client.ts";

/** What delivery needs from the configuration. */
export interface DeliveryConfig extends WixClientConfig {
  webhookRetrySchedule: number[];
  webhookConcurrency: number;
  /** Backlog deliveries a second while payments are being made (0: not paced). */
  webhookDrainRate?: number;
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
