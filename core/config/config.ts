/**
 * All configuration, read once from environment variables and validated with zod.
 *
 * Every bad variable yields one line naming it, saying what is wrong and giving an example,
 * so an operator fixes a broken deployment in one pass. Secret values are never echoed.
 * @module
 */

import { ConfigError } from "../common/mod.ts";
import type { LogLevel } from "../common/mod.ts";
import { DEPLOY_KV, isLocalKvFile } from "../store/mod.ts";
import { misspeltVariables } from "./spelling.ts";
import { CONFIG_VARIABLES, VARIABLES } from "./variables.ts";
import type { Parsed, Variable } from "./variables.ts";

export { CONFIG_VARIABLES, ConfigError };

/** How webhooks are driven: KV queues plus a sweeper, the sweeper alone, or detected at start. */
export type DeliveryMode = "auto" | "queue" | "poll";

/** The validated configuration of one service instance. */
export interface Config {
  /** Problems worth a warning at start that do not stop it (e.g. a misspelt variable). */
  warnings: string[];
  port: number;
  host: string;
  /** PEM text holding one or more public keys; `undefined` means "generate a development pair". */
  wixAppPublicKey?: string;
  wixAppId?: string;
  wixAppSecret?: string;
  /** Base of the OAuth and Submit Event URLs, without a trailing slash. */
  wixApiBaseUrl: string;
  kvPath: string;
  pspApiKey?: string;
  /** Bearer token `GET /metrics` requires; unset, the scrape is open. */
  metricsToken?: string;
  /**
   * Where this server is reachable, without a trailing slash (used in redirect URLs); when
   * unset, `http://localhost:<listening port>`.
   */
  publicBaseUrl?: string;
  pspName: string;
  pspVersion: string;
  jwtClockSkewSeconds: number;
  /** The longest lifetime (`exp - iat`) a Wix token may claim, in seconds. */
  jwtMaxLifetimeSeconds: number;
  maxBodyBytes: number;
  /** How long a request's headers may take to arrive (0: unbounded, a proxy in front does it). */
  headersTimeoutMs: number;
  /** How long a request's body may take to arrive once its headers have (0: unbounded). */
  bodyTimeoutMs: number;
  /** Addresses (or CIDR ranges) of proxies whose `X-Forwarded-For` is believed. */
  trustedProxies: string[];
  /** A certificate chain and its key, PEM files: the server speaks HTTPS itself. */
  tls?: { certFile: string; keyFile: string };
  processor: "sandbox" | "http";
  /** The HTTP processor's backend and signing secret (`PROCESSOR=http`). */
  processorHttp?: { url: string; secret: string };
  logLevel: LogLevel;
  deliveryMode: DeliveryMode;
  /** Where webhook attempts run: a worker thread of their own, or the request thread. */
  deliveryThread: "worker" | "main";
  /** Delay before each webhook attempt, in ms; its length is the number of attempts. */
  webhookRetrySchedule: number[];
  webhookConcurrency: number;
  /** Backlog deliveries a second while payments are being made (0: as fast as Wix answers). */
  webhookDrainRate: number;
  webhookTimeoutMs: number;
  sweepIntervalMs: number;
  /** How long a stop waits for connections to finish before the process exits anyway. */
  shutdownTimeoutMs: number;
  /** How long a duplicate request waits for the first one to finish before answering 503. */
  inFlightWaitMs: number;
  /** How long a claim protects an unfinished processor call before a retry may take it over. */
  processingLeaseMs: number;
  /** How long one processor call may take before it is aborted (shorter than the lease). */
  processorTimeoutMs: number;
  sandboxPendingDelayMs: number;
  /** A redirect payment without a buyer's choice for this long is canceled (0 disables). */
  redirectAbandonAfterMs: number;
  /** Order fields every Create Transaction must carry (paths under `order.description`). */
  requiredOrderFields: string[];
  /** Decline 4000 when the items and charges do not add up to the total. */
  checkCartTotal: boolean;
  /** Scheduled online backups of the local store: where, how often, how many kept. */
  backup?: { dir: string; everyMs: number; keep: number };
}

/** The rules between variables; throws a {@link ConfigError} naming them. */
function crossCheck(p: Parsed): void {
  if (p.PROCESSOR === "http") {
    const missing = ["PROCESSOR_HTTP_URL", "PROCESSOR_HTTP_SECRET"].filter((name) =>
      p[name as keyof Parsed] === undefined
    );
    if (missing.length > 0) {
      throw new ConfigError(
        missing.map((name) =>
          `${name} is required with PROCESSOR=http. Example: ${name}=${
            VARIABLES[name as keyof typeof VARIABLES].example
          }`
        ),
      );
    }
  }
  if (p.PROCESSOR_TIMEOUT !== undefined && p.PROCESSOR_TIMEOUT >= p.PROCESSING_LEASE) {
    // A call still running when its claim lapses could overlap the retry that takes it over.
    throw new ConfigError([
      `PROCESSOR_TIMEOUT (${p.PROCESSOR_TIMEOUT} ms) must be shorter than PROCESSING_LEASE ` +
      `(${p.PROCESSING_LEASE} ms), so that no retry takes over a call still running. ` +
      "Example: PROCESSOR_TIMEOUT=20s with PROCESSING_LEASE=60s",
    ]);
  }
  if (p.BACKUP_DIR !== undefined && p.BACKUP_EVERY < 100) {
    throw new ConfigError(["BACKUP_EVERY must be at least 100ms. Example: BACKUP_EVERY=1h"]);
  }
  if ((p.TLS_CERT_FILE === undefined) !== (p.TLS_KEY_FILE === undefined)) {
    throw new ConfigError([
      "TLS_CERT_FILE and TLS_KEY_FILE must be set together (the certificate chain and its key)",
    ]);
  }
  if ((p.WIX_APP_ID === undefined) !== (p.WIX_APP_SECRET === undefined)) {
    throw new ConfigError([
      "WIX_APP_ID and WIX_APP_SECRET must be set together (both are needed to obtain a Submit Event token)",
    ]);
  }
}

/** Each variable of `env` through its schema; throws {@link ConfigError} listing every bad one. */
function parseVariables(env: Record<string, string | undefined>): Parsed {
  const problems: string[] = [];
  const parsed: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(VARIABLES) as [string, Variable<unknown>][]) {
    const raw = env[name] === "" ? undefined : env[name];
    const result = variable.schema.safeParse(raw);
    if (result.success) {
      parsed[name] = result.data;
      continue;
    }
    const reason = result.error.issues[0]?.message ?? "is invalid";
    const got = variable.secret || raw === undefined ? "" : ` (got ${JSON.stringify(raw)})`;
    problems.push(`${name} ${reason}${got}. Example: ${name}=${variable.example}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed as Parsed;
}

/** Where the KV lives, and a check that backups, if asked for, can copy it. */
function resolveKvPath(p: Parsed, env: Record<string, string | undefined>): string {
  // On Deno Deploy the app's provisioned database; a local file would vanish with the isolate.
  const kvPath = p.KV_PATH ?? (env.DENO_DEPLOYMENT_ID ? DEPLOY_KV : "./data/psp.sqlite3");
  if (p.BACKUP_DIR !== undefined && !isLocalKvFile(kvPath)) {
    throw new ConfigError([
      `BACKUP_DIR copies a local KV file, and KV_PATH=${kvPath} is not one: Deno Deploy and ` +
      "remote KV are backed up where they run (see docs/operations.md); unset BACKUP_DIR",
    ]);
  }
  return kvPath;
}

/**
 * Reads and validates configuration from an environment map (by default the process env).
 * Empty strings count as unset. Throws {@link ConfigError} listing every bad variable.
 */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Config {
  const p = parseVariables(env);
  crossCheck(p);
  const kvPath = resolveKvPath(p, env);
  return {
    warnings: misspeltVariables(env, CONFIG_VARIABLES),
    port: p.PORT,
    host: p.HOST,
    wixAppPublicKey: p.WIX_APP_PUBLIC_KEY,
    wixAppId: p.WIX_APP_ID,
    wixAppSecret: p.WIX_APP_SECRET,
    wixApiBaseUrl: p.WIX_API_BASE_URL,
    kvPath,
    pspApiKey: p.PSP_API_KEY,
    metricsToken: p.METRICS_TOKEN,
    publicBaseUrl: p.PUBLIC_BASE_URL,
    pspName: p.PSP_NAME,
    pspVersion: p.PSP_VERSION,
    jwtClockSkewSeconds: p.JWT_CLOCK_SKEW_SECONDS,
    jwtMaxLifetimeSeconds: Math.floor(p.JWT_MAX_LIFETIME / 1000),
    maxBodyBytes: p.MAX_BODY_BYTES,
    headersTimeoutMs: p.HEADERS_TIMEOUT,
    bodyTimeoutMs: p.BODY_TIMEOUT,
    trustedProxies: p.TRUSTED_PROXIES ?? [],
    tls: p.TLS_CERT_FILE && p.TLS_KEY_FILE
      ? { certFile: p.TLS_CERT_FILE, keyFile: p.TLS_KEY_FILE }
      : undefined,
    processor: p.PROCESSOR,
    processorHttp: p.PROCESSOR_HTTP_URL && p.PROCESSOR_HTTP_SECRET
      ? { url: p.PROCESSOR_HTTP_URL, secret: p.PROCESSOR_HTTP_SECRET }
      : undefined,
    logLevel: p.LOG_LEVEL,
    deliveryMode: p.DELIVERY_MODE,
    deliveryThread: p.DELIVERY_THREAD,
    webhookRetrySchedule: p.WEBHOOK_RETRY_SCHEDULE,
    webhookConcurrency: p.WEBHOOK_CONCURRENCY,
    webhookDrainRate: p.WEBHOOK_DRAIN_RATE,
    webhookTimeoutMs: p.WEBHOOK_TIMEOUT,
    sweepIntervalMs: p.SWEEP_INTERVAL,
    shutdownTimeoutMs: p.SHUTDOWN_TIMEOUT,
    inFlightWaitMs: p.IN_FLIGHT_WAIT,
    processingLeaseMs: p.PROCESSING_LEASE,
    // 20 s, or half a shorter lease: a call always ends before its claim can be taken over.
    processorTimeoutMs: p.PROCESSOR_TIMEOUT ?? Math.min(20_000, Math.floor(p.PROCESSING_LEASE / 2)),
    sandboxPendingDelayMs: p.SANDBOX_PENDING_DELAY,
    redirectAbandonAfterMs: p.REDIRECT_ABANDON_AFTER,
    requiredOrderFields: p.REQUIRED_ORDER_FIELDS ?? [],
    checkCartTotal: p.CHECK_CART_TOTAL,
    backup: p.BACKUP_DIR === undefined
      ? undefined
      : { dir: p.BACKUP_DIR, everyMs: p.BACKUP_EVERY, keep: p.BACKUP_KEEP },
  };
}
