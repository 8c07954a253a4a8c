/**
 * The service, wired: configuration, Deno KV, the processor, payments, webhook delivery, the
 * sweeper, scheduled backups and `Deno.serve`. One module for every way the service runs:
 * `main.ts` (the command line) starts it from the environment, the tests, the CLI demo and a
 * PSP's own file start it in-process with {@link startService}, and the fault simulator wires
 * instances without HTTP over a store it controls with {@link wireService}.
 * @module
 */

import type { Clock, Logger } from "./core/common/mod.ts";
import { createLogger, systemClock, VERSION } from "./core/common/mod.ts";
import { loadOrCreateDevKeyPair, openConfiguredKv } from "./core/config/mod.ts";
import type { Config } from "./core/config/mod.ts";
import { countWebhookBacklog, createOutbox, createWebhookDelivery } from "./core/delivery/mod.ts";
import {
  recordBackup,
  recordBackupsStarted,
  recordStoreFailure,
  recordWebhookBacklog,
} from "./core/telemetry/mod.ts";
import { removeLeftovers, startBackupSchedule } from "./core/books/mod.ts";
import { createRequestJournal } from "./core/console/mod.ts";
import type { WebhookDelivery, WixClient } from "./core/delivery/mod.ts";
import { createGates, createRequestHandler, GuessGuard, serve } from "./core/http/mod.ts";
import { createPayments, indexEarlierTransactions } from "./core/payments/mod.ts";
import type { PaymentJob, Payments } from "./core/payments/mod.ts";
import { asPlugin } from "./core/processor/mod.ts";
import type { PaymentsPort, ProcessorFactory, ProcessorPlugin } from "./core/processor/mod.ts";
import { createHttpProcessor } from "./core/processors/http/mod.ts";
import { createSandboxPlugin } from "./core/processors/sandbox/mod.ts";
import { describeKvPath, isLocalKvFile, kvKeys, runDueJobs, scopedKv } from "./core/store/mod.ts";
import { importWixPublicKeys } from "./core/wix/mod.ts";
import type { AppDeps } from "./routes/deps.ts";
import { pluginRoutes, routes } from "./routes/mod.ts";

/** In-process options beyond the environment. */
export interface StartOptions {
  logger?: Logger;
  /**
   * Your own processor, instead of the built-in one `PROCESSOR` names: a factory that receives
   * its `ProcessorContext` (its own store, the payments port, clock, logger) and returns a
   * `PaymentProcessor` or a `ProcessorPlugin` (with routes and a sweep).
   */
  processor?: ProcessorFactory;
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
      privateKeyFile: dev.privatePath ??
        `(kept in memory only: KV_PATH=${config.kvPath} is not a local file)`,
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
export interface ServiceParts {
  kv: Deno.Kv;
  plugin: ProcessorPlugin;
  delivery: WebhookDelivery;
  payments: Payments;
  deps: AppDeps;
  /** One sweeper pass now (one at a time): due webhooks, the processor's sweep, due jobs. */
  sweep(): Promise<void>;
  /** Lets the sweep, webhook attempts and the journal finish; the KV stays open. */
  stop(): Promise<void>;
}

/** What {@link wireService} wires the parts over. */
export interface WireOptions {
  kv: Deno.Kv;
  logger: Logger;
  clock: Clock;
  /** Whether owed webhooks are also announced on the KV queue. */
  useQueue: boolean;
  /** Where buyers reach this server (redirect pages). */
  baseUrl: () => string;
  /** A processor of the PSP's own instead of the one `PROCESSOR` names. */
  processor?: ProcessorFactory;
  /** How Wix is called (default: over HTTP at `WIX_API_BASE_URL`); the simulator's own Wix. */
  wixClient?: WixClient;
  /** The local KV file webhook attempts run from on a thread of their own (`DELIVERY_THREAD`). */
  threadKvPath?: string;
}

/** The built-in processors, by `PROCESSOR`. */
const BUILT_IN_PROCESSORS: Record<Config["processor"], (config: Config) => ProcessorFactory> = {
  sandbox: (config) => (ctx) =>
    createSandboxPlugin(ctx, { pendingDelayMs: config.sandboxPendingDelayMs }),
  // loadConfig has checked that PROCESSOR=http comes with its URL and secret.
  http: (config) => (ctx) => createHttpProcessor({ ...config.processorHttp!, clock: ctx.clock }),
};

/**
 * The processor plugin, built from its context: its own store, the payments port (bound late:
 * payments need the processor, the plugin needs the port), the clock, the logger.
 */
function makePlugin(
  factory: ProcessorFactory,
  ctx: { kv: Deno.Kv; logger: Logger; clock: Clock; baseUrl: () => string },
  port: () => PaymentsPort,
): ProcessorPlugin {
  return asPlugin(factory({
    store: scopedKv(ctx.kv, kvKeys.processorScope()),
    payments: {
      reportOutcome: (...args) => port().reportOutcome(...args),
      lookup: (id) => port().lookup(id),
    },
    clock: ctx.clock,
    logger: ctx.logger,
    publicBaseUrl: ctx.baseUrl,
  }));
}

/**
 * Wires the processor plugin, delivery, payments, the routes' dependencies and the sweeper over
 * `options.kv`, with no HTTP server and no timer: {@link startService} adds those; the fault
 * simulator drives the parts itself.
 */
export function wireService(config: Config, options: WireOptions): ServiceParts {
  const { kv, logger, clock, useQueue } = options;
  const bound: { payments?: Payments } = {};
  const factory = options.processor ?? BUILT_IN_PROCESSORS[config.processor](config);
  const plugin = makePlugin(factory, options, () => bound.payments!.port);
  const delivery = createWebhookDelivery({
    kv,
    config,
    logger,
    clock,
    useQueue,
    client: options.wixClient,
    threadKvPath: options.threadKvPath,
  });
  const payments = createPayments({
    kv,
    processor: plugin.processor,
    // Owed webhooks go out from this process as soon as their state change commits.
    outbox: createOutbox(delivery.outboxListener, config.webhookRetrySchedule),
    logger,
    clock,
    inFlightWaitMs: config.inFlightWaitMs,
    processingLeaseMs: config.processingLeaseMs,
    processorTimeoutMs: config.processorTimeoutMs,
    redirectAbandonAfterMs: config.redirectAbandonAfterMs,
    orderRules: {
      requiredFields: config.requiredOrderFields,
      checkCartTotal: config.checkCartTotal,
    },
  });
  bound.payments = payments;
  const journal = createRequestJournal(kv, logger);
  const guard = new GuessGuard({
    onFirstLock: (clientAddress) =>
      logger.warn("too many wrong keys from one address: locked for a while", { clientAddress }),
  });
  const deps: AppDeps = { config, kv, logger, payments, delivery, journal, guard };
  const sweeper = createSweeper({ kv, plugin, delivery, payments }, clock, logger);
  return {
    kv,
    plugin,
    delivery,
    payments,
    deps,
    sweep: sweeper.sweep,
    async stop() {
      await sweeper.finished();
      await delivery.stop();
      await journal.flush();
    },
  };
}

/** One sweeper pass at a time: due webhooks, then due jobs. */
function createSweeper(
  parts: Pick<ServiceParts, "kv" | "plugin" | "delivery" | "payments">,
  clock: Clock,
  logger: Logger,
) {
  let running: Promise<void> | undefined;
  let backlogCountedAt = -Infinity;
  // The backlog gauges OpenTelemetry exports, counted every 5 s at most.
  const countBacklog = async () => {
    if (clock.now() - backlogCountedAt < 5_000) return;
    backlogCountedAt = clock.now();
    const backlog = await countWebhookBacklog(parts.kv);
    recordWebhookBacklog(backlog.owed, backlog.dead);
  };
  const sweep = (): Promise<void> => {
    running ??= (async () => {
      try {
        await parts.delivery.sweep();
        await parts.plugin.sweep?.(clock.now());
        await runDueJobs<PaymentJob>(
          parts.kv,
          clock.now(),
          parts.payments.runJob,
          (job, error) => logger.error("job failed", { job: job.kind, error }),
        );
        await countBacklog();
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
  for (const warning of config.warnings) logger.warn(warning);
  const { kv, wixKeys, useQueue } = await openStores(config, logger);
  let publicBaseUrl = config.publicBaseUrl ?? `http://localhost:${config.port}`;
  const parts = wireService(config, {
    kv,
    logger,
    clock,
    useQueue,
    baseUrl: () => publicBaseUrl,
    processor: options.processor,
    threadKvPath: config.deliveryThread === "worker" && isLocalKvFile(config.kvPath)
      ? config.kvPath
      : undefined,
  });
  warnAboutDisabledParts(config, parts.delivery.enabled, logger);
  // Shutting down cuts off bodies still arriving (503, Wix retries) instead of waiting on them.
  const stopping = new AbortController();
  const gates = createGates({
    ...config,
    wixKeys,
    guard: parts.deps.guard,
    stopping: stopping.signal,
  });
  const server = await serve(
    { ...config, useFront: !Deno.env.get("DENO_DEPLOYMENT_ID") },
    createRequestHandler([...routes, ...pluginRoutes(parts.plugin)], parts.deps, gates, logger),
    logger,
  ).catch((error) => {
    kv.close();
    throw error;
  });
  const { port, scheme } = server;
  publicBaseUrl = config.publicBaseUrl ?? `${scheme}://localhost:${port}`;
  const stopTimers = startDrivers(config, parts.delivery, parts.sweep);
  const stopBackups = await startBackups(config, logger);
  logListening(config, parts, `${scheme}://${config.host}:${port}`, publicBaseUrl, logger);
  const indexing = indexInBackground(kv, logger);
  const shutdown = once(async () => {
    stopTimers();
    await stopBackups();
    await indexing;
    stopping.abort();
    await server.shutdown();
    await parts.stop();
    kv.close();
    await parts.delivery.listenerClosed();
    logger.info("stopped");
  });
  return {
    url: `${scheme}://${scheme === "https" ? "localhost" : "127.0.0.1"}:${port}`,
    port,
    kv,
    deps: parts.deps,
    sweep: parts.sweep,
    shutdown,
  };
}

/** The KV, Wix's public keys, and whether delivery may use the KV's queues. */
async function openStores(config: Config, logger: Logger) {
  const kv = await openConfiguredKv(config.kvPath, { onCommitFailure: recordStoreFailure });
  const wixKeys = await loadKeys(config, logger).catch((error) => {
    kv.close();
    throw error;
  });
  // `auto` is poll: KV's queue thread takes the whole process down (a Deno panic, "KV queue
  // dequeue failed: disk I/O error") when the store stops taking writes, and queues exist
  // neither across processes, nor over KV Connect, nor on Deno Deploy.
  const useQueue = config.deliveryMode === "queue";
  return { kv, wixKeys, useQueue };
}

function logListening(
  config: Config,
  parts: ServiceParts,
  address: string,
  publicBaseUrl: string,
  logger: Logger,
): void {
  logger.info("listening", {
    version: VERSION,
    address,
    publicBaseUrl,
    kvPath: config.kvPath,
    kv: describeKvPath(config.kvPath),
    processor: parts.plugin.processor.name,
    webhookDelivery: parts.delivery.enabled ? parts.delivery.mode : "disabled",
    deliveryThread: parts.delivery.thread,
  });
}

/** Scheduled backups, when `BACKUP_DIR` is set: reported in metrics and logs. */
async function startBackups(config: Config, logger: Logger): Promise<() => Promise<void>> {
  if (!config.backup) return () => Promise.resolve();
  const { dir, everyMs, keep } = config.backup;
  await Deno.mkdir(dir, { recursive: true });
  await removeLeftovers(dir);
  recordBackupsStarted(Date.now());
  return startBackupSchedule({ kvPath: config.kvPath, dir, everyMs, keep }, (result) => {
    recordBackup(result.ok, Date.now());
    if (result.ok) {
      logger.info("backup written", { ...result.backup });
    } else {
      logger.error("backup failed; the next is tried at the next interval", {
        error: result.error,
        backupDir: dir,
      });
    }
  });
}

/** Payments recorded by an earlier version get the console's indexes, off the start path. */
function indexInBackground(kv: Deno.Kv, logger: Logger): Promise<unknown> {
  return indexEarlierTransactions(kv).then(
    (count) => count > 0 && logger.info("indexed earlier transactions for the console", { count }),
    (error) => logger.error("indexing earlier transactions failed", { error }),
  );
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
