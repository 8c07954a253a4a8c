/**
 * The messages between the request thread and the delivery thread (`thread_host.ts`,
 * `thread_entry.ts`). Plain data only: they cross by structured clone.
 * @module
 */

import type { LogFields, LogLevel } from "../common/mod.ts";
import type { AttemptResult } from "../telemetry/mod.ts";
import type { DeliveryConfig } from "./types.ts";
import type { WebhookRecord } from "./records.ts";

/** What the request thread asks of the delivery thread. */
export type ToDeliveryThread =
  | { type: "start"; kvPath: string; config: DeliveryConfig }
  /** A record the request thread's commit owed, at `versionstamp` (pre-leased or not). */
  | { type: "owed"; record: WebhookRecord; versionstamp: string }
  | { type: "kick"; id: string }
  | { type: "sweep"; call: number }
  | { type: "stop" };

/** What the delivery thread tells the request thread. */
export type FromDeliveryThread =
  | { type: "started" }
  | { type: "failed"; error: string }
  | { type: "swept"; call: number }
  | { type: "stopped" }
  | { type: "log"; level: LogLevel; msg: string; fields?: LogFields }
  | { type: "attempt"; result: AttemptResult; lagMs?: number }
  | { type: "storeFailure" };
