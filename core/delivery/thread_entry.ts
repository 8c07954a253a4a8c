/// <reference lib="deno.worker" />
/**
 * The delivery thread: a `Worker` that runs the webhook worker of `worker.ts` on a KV
 * connection of its own, so that backlog and retry attempts (their Wix calls, JSON and commits)
 * never take the thread that answers payments. Its log lines, attempt metrics and store
 * failures go to the request thread, which logs and exports them as its own.
 * @module
 */

import { systemClock } from "../common/mod.ts";
import type { LogFields, Logger, LogLevel } from "../common/mod.ts";
import { openKv } from "../store/mod.ts";
import { forwardWebhookAttempts } from "../telemetry/mod.ts";
import { createWebhookDelivery } from "./mod.ts";
import type { WebhookDelivery } from "./mod.ts";
import type { FromDeliveryThread, ToDeliveryThread } from "./thread_messages.ts";

const send = (message: FromDeliveryThread) => self.postMessage(message);

/** A logger whose lines the request thread writes. */
const forwardingLogger: Logger = Object.fromEntries(
  (["debug", "info", "warn", "error"] as LogLevel[]).map((level) => [
    level,
    (msg: string, fields?: LogFields) => send({ type: "log", level, msg, fields }),
  ]),
) as unknown as Logger;

let kv: Deno.Kv | undefined;
let delivery: WebhookDelivery | undefined;
/** Settles once the KV is open; messages that come meanwhile wait for it, in order. */
let ready: Promise<void> = Promise.resolve();

async function start({ kvPath, config }: ToDeliveryThread & { type: "start" }): Promise<void> {
  try {
    forwardWebhookAttempts((result, lagMs) => send({ type: "attempt", result, lagMs }));
    kv = await openKv(kvPath, { onCommitFailure: () => send({ type: "storeFailure" }) });
    delivery = createWebhookDelivery({
      kv,
      config,
      logger: forwardingLogger,
      clock: systemClock,
      useQueue: false,
    });
    send({ type: "started" });
  } catch (error) {
    send({ type: "failed", error: (error as Error).message });
  }
}

self.onmessage = async (event: MessageEvent<ToDeliveryThread>) => {
  const message = event.data;
  if (message.type === "start") return void (ready = start(message));
  await ready;
  switch (message.type) {
    case "owed":
      return delivery?.outboxListener.owed(message.record, message.versionstamp);
    case "kick":
      return delivery?.kick(message.id);
    case "sweep":
      await delivery?.sweep().catch((error) =>
        forwardingLogger.error("webhook sweep failed", { error })
      );
      return send({ type: "swept", call: message.call });
    case "stop":
      await delivery?.stop();
      kv?.close();
      return send({ type: "stopped" });
  }
};
