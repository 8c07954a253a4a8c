/**
 * Entry point: wires configuration, Deno KV, the processor, payments, webhook delivery, the
 * sweeper and `Deno.serve`. Run it with `deno task start`; import {@link startService} to run
 * the service in-process (tests, the CLI demo).
 * @module
 */

import type { AppDeps } from "./routes/deps.ts";
import { ConfigError, loadConfig } from "./core/config/config.ts";
import type { Config } from "./core/config/config.ts";
import { createWebhookDelivery, kvSupportsQueues } from "./core/delivery/delivery.ts";
import { errorResponse, HttpError, readBodyLimited } from "./core/http/responses.ts";
import { runDueJobs } from "./core/store/jobs.ts";
import type { Job, JobResult } from "./core/store/jobs.ts";
import { importWixPublicKeys, loadOrCreateDevKeyPair } from "./core/wix/keys.ts";
import { openKv } from "./core/store/kv.ts";
import { createLogger } from "./core/common/log.ts";
import type { Logger } from "./core/common/log.ts";
import { createOutbox } from "./core/delivery/outbox.ts";
import { createPayments } from "./core/payments/payments.ts";
import type { PaymentProcessor } from "./core/processor/types.ts";
import { verifyPspRequest } from "./core/http/psp_gate.ts";
import { reason } from "./core/wix/reason_codes.ts";
import { createRequestHandler } from "./core/http/router.ts";
import { createSandboxProcessor } from "./core/processors/sandbox/processor.ts";
import { verifyWixRequest } from "./core/wix/verify.ts";
import { VERSION } from "./core/common/version.ts";
import { routes } from "./routes/mod.ts";

/** In-process options beyond the environment. */
export interface StartOptions {
  logger?: Logger;
  /** A payment backend to use instead of the built-in sandbox. */
  processor?: (kv: Deno.Kv) => PaymentProcessor;
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

/** Starts the service described by `config` and returns once it is listening. */
export async function startService(
  config: Config,
  options: StartOptions = {},
): Promise<RunningService> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const keys = await loadKeys(config, logger);
  const kv = await openKv(config.kvPath);
  const useQueue = config.deliveryMode === "queue" ||
    (config.deliveryMode === "auto" && await kvSupportsQueues(kv, config.kvPath));

  let publicBaseUrl = config.publicBaseUrl ?? `http://localhost:${config.port}`;
  const sandbox = createSandboxProcessor({
    kv,
    publicBaseUrl: () => publicBaseUrl,
    pendingDelayMs: config.sandboxPendingDelayMs,
  });
  const processor = options.processor?.(kv) ?? sandbox;
  const delivery = createWebhookDelivery({ kv, config, logger, useQueue });
  const payments = createPayments({
    kv,
    processor,
    // Owed webhooks go out from this process as soon as their state change commits.
    outbox: createOutbox(delivery.outboxListener),
    logger,
    inFlightWaitMs: config.inFlightWaitMs,
    processingLeaseMs: config.processingLeaseMs,
    redirectAbandonAfterMs: config.redirectAbandonAfterMs,
  });
  if (!config.pspApiKey) {
    logger.warn(
      "PSP_API_KEY is not set: the PSP-side API (/psp/v1/...) is disabled and answers 404",
    );
  }
  if (!delivery.enabled) {
    logger.warn(
      "WIX_APP_ID and WIX_APP_SECRET are not set: webhooks are recorded but not sent until they are",
    );
  }
  const deps: AppDeps = {
    config,
    kv,
    logger,
    payments,
    delivery,
    findSandboxCheckout: processor === sandbox ? sandbox.findCheckout : undefined,
  };

  async function runJob(job: Job): Promise<JobResult> {
    const result = job.kind === "payment_outcome"
      ? await payments.recordPaymentOutcome(job.wixTransactionId, job.outcome, "sandbox")
      : await payments.recordPaymentOutcome(
        job.wixTransactionId,
        { kind: "declined", ...reason("BUYER_CANCELED", "The buyer abandoned the payment page") },
        "abandonment",
        ["awaiting_buyer"],
      );
    if (result.kind === "busy") return { done: false, retryAt: Date.now() + 1000 };
    if (result.kind === "rejected" && job.kind === "payment_outcome") {
      logger.warn("scheduled outcome not applied", {
        wixTransactionId: job.wixTransactionId,
        reason: result.reason,
      });
    }
    return { done: true };
  }

  let sweeping: Promise<void> | undefined;
  const sweep = (): Promise<void> => {
    sweeping ??= (async () => {
      try {
        await delivery.sweep();
        await runDueJobs(
          kv,
          Date.now(),
          runJob,
          (job, error) => logger.error("job failed", { job: job.kind, error }),
        );
      } catch (error) {
        logger.error("sweep failed", { error });
      } finally {
        sweeping = undefined;
      }
    })();
    return sweeping;
  };

  const handler = createRequestHandler(routes, deps, {
    wix: async (request) =>
      (await verifyWixRequest(request, {
        keys,
        clockSkewSeconds: config.jwtClockSkewSeconds,
        maxBodyBytes: config.maxBodyBytes,
      })).body,
    psp: (request) => verifyPspRequest(request, config.pspApiKey, config.maxBodyBytes),
    public: (request) => readBodyLimited(request, config.maxBodyBytes),
  }, logger);

  const server = Deno.serve({
    port: config.port,
    hostname: config.host,
    onListen: () => {},
    onError: (error) => {
      logger.error("request failed outside the handler", { error });
      return errorResponse(500, "internal_error", "internal error");
    },
  }, handler);
  const port = server.addr.port;
  publicBaseUrl = config.publicBaseUrl ?? `http://localhost:${port}`;

  delivery.start();
  const timer = setInterval(sweep, config.sweepIntervalMs);
  void sweep();
  if (Deno.env.get("DENO_DEPLOYMENT_ID") && typeof Deno.cron === "function") {
    // On Deno Deploy an idle isolate runs no timers; cron wakes it to sweep.
    Deno.cron("wix-psp-sweeper", "* * * * *", sweep);
  }
  logger.info("listening", {
    version: VERSION,
    address: `http://${config.host}:${port}`,
    publicBaseUrl,
    kvPath: config.kvPath,
    processor: processor.name,
    webhookDelivery: delivery.enabled ? delivery.mode : "disabled",
  });

  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    kv,
    deps,
    sweep,
    shutdown() {
      stopping ??= (async () => {
        clearInterval(timer);
        await server.shutdown();
        await sweeping;
        await delivery.stop();
        kv.close();
        await delivery.listenerClosed();
        logger.info("stopped");
      })();
      return stopping;
    },
  };
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
    if (error instanceof HttpError || error instanceof Error) {
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
