/**
 * The service's metrics, with the names dashboards rely on. Each is recorded twice: through
 * `@opentelemetry/api` (exported by Deno's built-in OpenTelemetry when `OTEL_DENO=true`; a no-op
 * otherwise) and in the in-process registry that `GET /metrics` renders for Prometheus.
 * Attributes never hold card data, credentials or tokens: only operations, outcomes and codes.
 * @module
 */

import { metrics } from "npm:@opentelemetry/api@1.9.0";
import { MetricsRegistry } from "./registry.ts";

/** How an SPI request ended. */
export type SpiOutcome = "approved" | "declined" | "pending" | "redirect" | "error";
/** How a webhook attempt ended. */
export type AttemptResult = "delivered" | "failed" | "dead";

const MS_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];
const LAG_BUCKETS = [10, 50, 100, 250, 500, 1000, 5000, 15_000, 60_000, 300_000, 3_600_000];

/** The process's registry: one per process, like OpenTelemetry's global meter provider. */
export const registry: MetricsRegistry = new MetricsRegistry();

const meter = metrics.getMeter("wix-psp-server");
const otel = {
  spiRequests: meter.createCounter("psp.spi.requests", { description: "SPI requests answered" }),
  spiDuration: meter.createHistogram("psp.spi.duration", { unit: "ms" }),
  processorDuration: meter.createHistogram("psp.processor.duration", { unit: "ms" }),
  webhookAttempts: meter.createCounter("psp.webhook.attempts"),
  webhookLag: meter.createHistogram("psp.webhook.lag", { unit: "ms" }),
  authRefused: meter.createCounter("psp.auth.refused", {
    description: "refused key attempts (wrong key, or too many wrong keys from one address)",
  }),
  storeFailures: meter.createCounter("psp.store.failures", {
    description: "KV writes the store did not take",
  }),
};
const backlog = { owed: 0, dead: 0 };
meter.createObservableGauge("psp.webhook.owed", { description: "webhooks waiting to be delivered" })
  .addCallback((result) => result.observe(backlog.owed));
meter.createObservableGauge("psp.webhook.dead", { description: "dead-lettered webhooks" })
  .addCallback((result) => result.observe(backlog.dead));

registry.declare("psp.spi.requests", "counter", "SPI requests answered, by operation and outcome");
registry.declare("psp.spi.duration", "histogram", "SPI request duration in ms", MS_BUCKETS);
registry.declare(
  "psp.processor.duration",
  "histogram",
  "processor call duration in ms",
  MS_BUCKETS,
);
registry.declare("psp.webhook.attempts", "counter", "webhook delivery attempts, by result");
registry.declare(
  "psp.webhook.lag",
  "histogram",
  "ms from the commit owing a webhook to its delivery",
  LAG_BUCKETS,
);
registry.declare("psp.webhook.owed", "gauge", "webhooks waiting to be delivered");
registry.declare("psp.kv.atomic_operations", "counter", "KV atomic operations asked for");
registry.declare("psp.kv.commits", "counter", "KV commits that carried them (group commit)");
registry.declare("psp.webhook.dead", "gauge", "dead-lettered webhooks");
registry.declare(
  "psp.auth.refused",
  "counter",
  "refused key attempts, by surface and reason (wrong_key, locked)",
);
registry.declare("psp.store.failures", "counter", "KV writes the store did not take");
registry.declare(
  "psp.backup.last_success",
  "gauge",
  "unix time (s) of the last good scheduled backup (0: none since start)",
);
registry.declare("psp.backup.age", "gauge", "seconds since the last good scheduled backup");
registry.declare("psp.backup.failures", "counter", "scheduled backups that failed");

/** Records one answered SPI request. */
export function recordSpiRequest(
  operation: string,
  outcome: SpiOutcome,
  reasonCode: number | undefined,
  durationMs: number,
): void {
  const labels = {
    operation,
    outcome,
    reason_code: reasonCode === undefined ? "" : String(reasonCode),
  };
  otel.spiRequests.add(1, labels);
  otel.spiDuration.record(durationMs, { operation });
  registry.add("psp.spi.requests", 1, labels);
  registry.observe("psp.spi.duration", durationMs, { operation });
}

/** Records one processor call (`result`: the outcome kind, or `error`, `timeout`). */
export function recordProcessorCall(operation: string, result: string, durationMs: number): void {
  otel.processorDuration.record(durationMs, { operation, result });
  registry.observe("psp.processor.duration", durationMs, { operation, result });
}

/** Where a delivery thread sends its attempts, to be recorded by the request thread. */
let attemptSink: ((result: AttemptResult, lagMs?: number) => void) | undefined;

/**
 * Makes {@link recordWebhookAttempt} hand each attempt to `sink` instead of recording it here:
 * a delivery thread's registry is not the one `/metrics` renders.
 */
export function forwardWebhookAttempts(sink: (result: AttemptResult, lagMs?: number) => void) {
  attemptSink = sink;
}

/** Records one webhook attempt; `lagMs` when it delivered. */
export function recordWebhookAttempt(result: AttemptResult, lagMs?: number): void {
  if (attemptSink) return attemptSink(result, lagMs);
  otel.webhookAttempts.add(1, { result });
  registry.add("psp.webhook.attempts", 1, { result });
  if (lagMs !== undefined) {
    otel.webhookLag.record(lagMs);
    registry.observe("psp.webhook.lag", lagMs);
  }
}

/** Sets the webhook backlog gauges (counted by the sweeper). */
export function recordWebhookBacklog(owed: number, dead: number): void {
  backlog.owed = owed;
  backlog.dead = dead;
  registry.set("psp.webhook.owed", owed);
  registry.set("psp.webhook.dead", dead);
}

/** The outcome of an SPI answer body. */
export function spiOutcomeOf(body: { reasonCode?: unknown; redirectUrl?: unknown }): SpiOutcome {
  const code = body.reasonCode;
  if (code === undefined) return body.redirectUrl === undefined ? "approved" : "redirect";
  if (code === 5005 || code === 5009) return "pending";
  // 1xxx are request and technical errors, not a buyer's decline.
  return typeof code === "number" && code < 2000 ? "error" : "declined";
}

/** Sets the KV group-commit totals (operations asked for, commits made). */
export function recordKvCommits(operations: number, commits: number): void {
  registry.setTotal("psp.kv.atomic_operations", operations);
  registry.setTotal("psp.kv.commits", commits);
}

/** Records one refused key attempt on `surface` (console, psp_api, metrics). */
export function recordAuthRefused(surface: string, reason: "wrong_key" | "locked"): void {
  otel.authRefused.add(1, { surface, reason });
  registry.add("psp.auth.refused", 1, { surface, reason });
}

/** Records one KV write the store did not take. */
export function recordStoreFailure(): void {
  otel.storeFailures.add(1);
  registry.add("psp.store.failures", 1);
}

let lastBackupAt: number | undefined;
let backupsStartedAt: number | undefined;

/** Scheduled backups are on, from `at`: the age gauge counts from there until the first. */
export function recordBackupsStarted(at: number): void {
  backupsStartedAt = at;
}

/** Records one scheduled backup: its success time, or a failure. */
export function recordBackup(ok: boolean, at: number): void {
  if (ok) {
    lastBackupAt = at;
    registry.set("psp.backup.last_success", Math.floor(at / 1000));
  } else {
    registry.add("psp.backup.failures", 1);
  }
}

/**
 * Sets the backup age gauge for `now` (a scrape): seconds since the last good backup, or since
 * backups started when none has succeeded yet. Nothing when backups are off.
 */
export function refreshBackupAge(now: number): void {
  if (backupsStartedAt === undefined) return;
  registry.set("psp.backup.age", Math.floor((now - (lastBackupAt ?? backupsStartedAt)) / 1000));
}
