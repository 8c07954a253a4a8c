/**
 * Entry point: wires configuration, Deno KV, the processor, payments, webhook delivery, the
 * sweeper and `Deno.serve`. Run it with `deno task start`; import {@link startService} to run
 * the service in-process (tests, the CLI demo).
 * @module
 */

import type { Clock, Logger } from "./core/common/mod.ts";
import { createLogger, systemClock, VERSION } from "./core/common/mod.ts";
import { ConfigError, loadConfig, loadOrCreateDevKeyPair } from "./core/config/mod.ts";
import type { Config } from "./core/config/mod.ts";
import { createOutbox, createWebhookDelivery } from "./core/delivery/mod.ts";
import type { WebhookDelivery } from "./core/delivery/mod.ts";
import { createGates, createRequestHandler, errorResponse } from "./core/http/mod.ts";
import { createPayments } from "./core/payments/mod.ts";
import type { PaymentJob, Payments } from "./core/payments/mod.ts";
import type { PaymentProcessor } from "./core/processor/mod.ts";
import { createSandboxProcessor } from "./core/processors/sandbox/mod.ts";
import { kvSupportsQueues, openKv, runDueJobs } from "./core/store/mod.ts";
import { importWixPublicKeys } from "./core/wix/mod.ts";
import type { AppDeps } from "./routes/deps.ts";
import { routes } from "./routes/mod.ts";

/** In-process options beyond the environment. */
export interface StartOptions {
  logger?: Logger;
  /** A payment backend to use instead of the built-in sandbox. */
  processor?: (kv: Deno.Kv) => PaymentProcessor;
  /** The time source of payments, delivery, jobs and the sandbox (default: the wall clock). */
  clock?: Clock;
}

/** A running service. */
export interface RunningService {
  /** Base URL on loopback, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  kv: Deno.Kv;
  deps: AppDeps;
  /** One sweeper pass now: due webhooks and due jobs. */
  sweep(): Promise<void>;
  /** Stops accepting, lets in-flight requests and webhook attempts finish, closes KV. */
  shutdown(): Promise<void>;
}

async function loadKeys(config: Config, logger: Logger): Promise<CryptoKey[]> {
  if (config.wixAppPublicKey) return await importWixPublicKeys(config.wixAppPublicKey);
  const dev = await loadOrCreateDevKeyPair(config.kvPath);
  logger.warn(
    "!!! NO WIX_APP_PUBLIC_KEY CONFIGURED: using a DEVELOPMENT key pair; requests signed by Wix " +
      "will be refused. Set WIX_APP_PUBLIC_KEY before taking real traffic. !!!",
    {
      privateKeyFile: dev.privatePath ?? "(in memory only: KV_PATH is :memory:)",
      generated: dev.created,
    },
  );
  return [dev.publicKey];
}

/** Says loudly at start which parts are off for lack of configuration. */
function warnAboutDisabledParts(config: Config, deliveryEnabled: boolean, logger: Logger): void {
  if (!config.pspApiKey) {
    logger.warn(
      "PSP_API_KEY is not set: the PSP-side API (/psp/v1/...) is disabled and answers 404",
    );
  }
  if (!deliveryEnabled) {
    logger.warn(
      "WIX_APP_ID and WIX_APP_SECRET are not set: webhooks are recorded but not sent until they are",
    );
  }
}

/** The service's parts, wired: processor, delivery, payments and what routes receive. */
interface Parts {
  kv: Deno.Kv;
  processorName: string;
  delivery: WebhookDelivery;
  payments: Payments;
  deps: AppDeps;
}

/** Wires the processor, delivery and payments over `kv`. */
function wireParts(
  config: Config,
  options: StartOptions,
  ctx: { kv: Deno.Kv; logger: Logger; clock: Clock; useQueue: boolean; baseUrl: () => string },
): Parts {
  const { kv, logger, clock, useQueue } = ctx;
  const sandbox = createSandboxProcessor({
    kv,
    publicBaseUrl: ctx.baseUrl,
    pendingDelayMs: config.sandboxPendingDelayMs,
    clock,
  });
  const processor = options.processor?.(kv) ?? sandbox;
  const delivery = createWebhookDelivery({ kv, config, logger, clock, useQueue });
  const payments = createPayments({
    kv,
    processor,
    // Owed webhooks go out from this process as soon as their state change commits.
    outbox: createOutbox(delivery.outboxListener, config.webhookRetrySchedule),
    logger,
    clock,
    inFlightWaitMs: config.inFlightWaitMs,
    processingLeaseMs: config.processingLeaseMs,
    redirectAbandonAfterMs: config.redirectAbandonAfterMs,
  });
  const findSandboxCheckout = processor === sandbox ? sandbox.findCheckout : undefined;
  const deps: AppDeps = { config, kv, logger, payments, delivery, findSandboxCheckout };
  return { kv, processorName: processor.name, delivery, payments, deps };
}

/** One sweeper pass at a time: due webhooks, then due jobs. */
function createSweeper(parts: Parts, clock: Clock, logger: Logger) {
  let running: Promise<void> | undefined;
  const sweep = (): Promise<void> => {
    running ??= (async () => {
      try {
        await parts.delivery.sweep();
        await runDueJobs<PaymentJob>(
          parts.kv,
          clock.now(),
          parts.payments.runJob,
          (job, error) => logger.error("job failed", { job: job.kind, error }),
        );
      } catch (error) {
        logger.error("sweep failed", { error });
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  return { sweep, finished: () => running ?? Promise.resolve() };
}

/**
 * Starts the service described by `config` and returns once it is listening. A request's path:
 * `Deno.serve` -> the router (`core/http/router.ts`) matches a route of `routes/` -> its gate
 * verifies and reads the body -> the route parses it and calls one core function -> errors
 * become responses in `core/http/errors.ts`.
 */
export async function startService(
  config: Config,
  options: StartOptions = {},
): Promise<RunningService> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const wixKeys = await loadKeys(config, logger);
  const kv = await openKv(config.kvPath);
  const useQueue = config.deliveryMode === "queue" ||
    (config.deliveryMode === "auto" && await kvSupportsQueues(kv, config.kvPath));
  let publicBaseUrl = config.publicBaseUrl ?? `http://localhost:${config.port}`;
  const parts = wireParts(config, options, {
    kv,
    logger,
    clock,
    useQueue,
    baseUrl: () => publicBaseUrl,
  });
  warnAboutDisabledParts(config, parts.delivery.enabled, logger);
  const sweeper = createSweeper(parts, clock, logger);
  const gates = createGates({ ...config, wixKeys });
  const server = Deno.serve({
    port: config.port,
    hostname: config.host,
    onListen: () => {},
    onError: (error) => {
      logger.error("request failed outside the handler", { error });
      return errorResponse(500, "internal_error", "internal error");
    },
  }, createRequestHandler(routes, parts.deps, gates, logger));
  const port = server.addr.port;
  publicBaseUrl = config.publicBaseUrl ?? `http://localhost:${port}`;
  const stopTimers = startDrivers(config, parts.delivery, sweeper.sweep);
  logger.info("listening", {
    version: VERSION,
    address: `http://${config.host}:${port}`,
    publicBaseUrl,
    kvPath: config.kvPath,
    processor: parts.processorName,
    webhookDelivery: parts.delivery.enabled ? parts.delivery.mode : "disabled",
  });
  const shutdown = once(async () => {
    stopTimers();
    await server.shutdown();
    await sweeper.finished();
    await parts.delivery.stop();
    kv.close();
    await parts.delivery.listenerClosed();
    logger.info("stopped");
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    kv,
    deps: parts.deps,
    sweep: sweeper.sweep,
    shutdown,
  };
}

/** Starts the queue listener and the sweeper's timer (and cron on Deno Deploy). */
function startDrivers(
  config: Config,
  delivery: WebhookDelivery,
  sweep: () => Promise<void>,
): () => void {
  delivery.start();
  const timer = setInterval(sweep, config.sweepIntervalMs);
  void sweep();
  if (Deno.env.get("DENO_DEPLOYMENT_ID") && typeof Deno.cron === "function") {
    // On Deno Deploy an idle isolate runs no timers; cron wakes it to sweep.
    Deno.cron("wix-psp-sweeper", "* * * * *", sweep);
  }
  return () => clearInterval(timer);
}

/** `run`, started at most once; every call returns the same promise. */
function once(run: () => Promise<void>): () => Promise<void> {
  let started: Promise<void> | undefined;
  return () => started ??= run();
}

if (import.meta.main) {
  let service: RunningService;
  try {
    service = await startService(loadConfig());
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      Deno.exit(1);
    }
    if (error instanceof Error) {
      console.error(`Failed to start: ${error.message}`);
      Deno.exit(1);
    }
    throw error;
  }
  const stop = async () => {
    await service.shutdown();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
