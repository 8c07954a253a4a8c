/**
 * All configuration, read once from environment variables and validated with zod.
 *
 * Every bad variable yields one line naming it, saying what is wrong and giving an example,
 * so an operator fixes a broken deployment in one pass. Secret values are never echoed.
 * @module
 */

import { z } from "npm:zod@4.6.7";
import { ConfigError } from "../common/mod.ts";
import { parseDuration, parseDurationList } from "../common/mod.ts";
import type { LogLevel } from "../common/mod.ts";
import { isAddressOrRange, VERSION } from "../common/mod.ts";
import { DEPLOY_KV, isLocalKvFile } from "../store/mod.ts";
import { REQUIRED_ORDER_FIELD_PATHS } from "../wix/mod.ts";
import { misspeltVariables } from "./spelling.ts";

export { ConfigError };

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

interface Variable<T> {
  schema: z.ZodType<T>;
  /** What a valid value looks like, shown in the error. */
  example: string;
  /** Secrets are never echoed back in errors. */
  secret?: boolean;
}

const int = (min: number, max: number) =>
  z.string().regex(/^\d+$/, `must be a whole number from ${min} to ${max}`).transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const url = z.string().refine((value) => {
  try {
    const parsed = new URL(value);
    return parsed.protocol === "http:" || parsed.protocol === "https:";
  } catch {
    return false;
  }
}, "must be an absolute http(s) URL").transform((value) => value.replace(/\/+$/, ""));

const nonEmpty = z.string().trim().min(1, "must not be empty");

const duration = (max: number) =>
  z.string().transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: "must be a duration with a unit (ms, s, m or h)" });
      return z.NEVER;
    }
    if (ms > max) {
      ctx.addIssue({ code: "custom", message: `must be at most ${max} ms` });
      return z.NEVER;
    }
    return ms;
  });

const VARIABLES = {
  PORT: { schema: int(0, 65535).default(8080), example: "8080" },
  HOST: { schema: nonEmpty.default("0.0.0.0"), example: "0.0.0.0" },
  WIX_APP_PUBLIC_KEY: {
    schema: z.string().transform((value) => value.replaceAll("\\n", "\n")).refine(
      (value) => /-----BEGIN [A-Z ]+-----/.test(value),
      "must hold one or more PEM blocks (-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----)",
    ).refine(
      (value) => /-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/.test(value),
      "has a -----BEGIN----- line but no matching -----END----- line: the key looks truncated; " +
        "copy the whole key again",
    ).optional(),
    example: '"-----BEGIN PUBLIC KEY-----\\nMIIBIjAN...\\n-----END PUBLIC KEY-----"',
    secret: true,
  },
  WIX_APP_ID: { schema: nonEmpty.optional(), example: "0a1b2c3d-0000-0000-0000-000000000000" },
  WIX_APP_SECRET: {
    schema: nonEmpty.optional(),
    example: "<app secret from the Wix dashboard>",
    secret: true,
  },
  WIX_API_BASE_URL: {
    schema: url.default("https://www.wixapis.com"),
    example: "https://www.wixapis.com",
  },
  KV_PATH: { schema: nonEmpty.optional(), example: "./data/psp.sqlite3, :memory: or deploy" },
  PSP_API_KEY: {
    schema: z.string().min(16, "must be at least 16 characters").optional(),
    example: "<32 random characters, e.g. from `openssl rand -hex 16`>",
    secret: true,
  },
  METRICS_TOKEN: {
    schema: z.string().min(16, "must be at least 16 characters").optional(),
    example: "<a random token for the Prometheus scraper; unset: /metrics is open>",
    secret: true,
  },
  PUBLIC_BASE_URL: { schema: url.optional(), example: "https://psp.example.com" },
  PSP_NAME: {
    schema: z.string().regex(
      /^[A-Za-z0-9._-]{1,64}$/,
      "must be 1-64 letters, digits, '.', '_' or '-'",
    )
      .default("wix-psp-server"),
    example: "AcmePay",
  },
  PSP_VERSION: {
    schema: z.string().regex(/^[A-Za-z0-9._+-]{1,32}$/, "must be 1-32 characters of a version")
      .default(VERSION),
    example: "1.4.2",
  },
  JWT_CLOCK_SKEW_SECONDS: { schema: int(0, 600).default(60), example: "60" },
  JWT_MAX_LIFETIME: { schema: duration(30 * 24 * 3_600_000).default(3_600_000), example: "1h" },
  HEADERS_TIMEOUT: { schema: duration(600_000).default(10_000), example: "10s" },
  BODY_TIMEOUT: { schema: duration(600_000).default(30_000), example: "30s" },
  TRUSTED_PROXIES: {
    schema: z.string().transform((value, ctx) => {
      const list = value.split(",").map((item) => item.trim()).filter((item) => item !== "");
      const bad = list.find((item) => !isAddressOrRange(item));
      if (bad !== undefined) {
        ctx.addIssue({
          code: "custom",
          message: `must be a comma-separated list of IP addresses or CIDR ranges; ` +
            `${JSON.stringify(bad)} is neither`,
        });
        return z.NEVER;
      }
      return list;
    }).optional(),
    example: "10.0.0.0/8,127.0.0.1",
  },
  TLS_CERT_FILE: { schema: nonEmpty.optional(), example: "/etc/psp/tls/fullchain.pem" },
  TLS_KEY_FILE: { schema: nonEmpty.optional(), example: "/etc/psp/tls/privkey.pem" },
  MAX_BODY_BYTES: { schema: int(1024, 16 * 1024 * 1024).default(1024 * 1024), example: "1048576" },
  PROCESSOR: {
    schema: z.enum(["sandbox", "http"], "must be one of: sandbox, http").default("sandbox"),
    example: "sandbox",
  },
  PROCESSOR_HTTP_URL: {
    schema: url.optional(),
    example: "https://payments.internal.example.com/wix",
  },
  PROCESSOR_HTTP_SECRET: {
    schema: z.string().min(32, "must be at least 32 characters").optional(),
    example: "<64 random characters, e.g. from `openssl rand -hex 32`>",
    secret: true,
  },
  LOG_LEVEL: {
    schema: z.enum(["debug", "info", "warn", "error"], "must be one of: debug, info, warn, error")
      .default("info"),
    example: "info",
  },
  DELIVERY_MODE: {
    schema: z.enum(["auto", "queue", "poll"], "must be one of: auto, queue, poll").default("auto"),
    example: "auto",
  },
  DELIVERY_THREAD: {
    schema: z.enum(["main", "worker"], "must be one of: main, worker").default("main"),
    example: "main",
  },
  WEBHOOK_RETRY_SCHEDULE: {
    schema: z.string().transform((value, ctx) => {
      const list = parseDurationList(value);
      if (!list) {
        ctx.addIssue({ code: "custom", message: "must be a comma-separated list of durations" });
        return z.NEVER;
      }
      if (list.length > 50 || list.some((ms) => ms > 30 * 24 * 3_600_000)) {
        ctx.addIssue({ code: "custom", message: "must have at most 50 delays of at most 30 days" });
        return z.NEVER;
      }
      return list;
    }).prefault("0s,5s,5m,30m,2h,5h,10h,10h"),
    example: "0s,5s,5m,30m,2h,5h,10h,10h",
  },
  WEBHOOK_CONCURRENCY: { schema: int(1, 256).default(48), example: "48" },
  WEBHOOK_DRAIN_RATE: { schema: int(0, 100_000).default(300), example: "300" },
  WEBHOOK_TIMEOUT: { schema: duration(120_000).default(10_000), example: "10s" },
  SWEEP_INTERVAL: { schema: duration(3_600_000).default(1000), example: "1s" },
  SHUTDOWN_TIMEOUT: { schema: duration(600_000).default(10_000), example: "10s" },
  IN_FLIGHT_WAIT: { schema: duration(60_000).default(5000), example: "5s" },
  PROCESSING_LEASE: { schema: duration(3_600_000).default(60_000), example: "60s" },
  PROCESSOR_TIMEOUT: { schema: duration(600_000).optional(), example: "20s" },
  SANDBOX_PENDING_DELAY: { schema: duration(7 * 24 * 3_600_000).default(10_000), example: "10s" },
  REQUIRED_ORDER_FIELDS: {
    schema: z.string().transform((value, ctx) => {
      const paths = value.split(",").map((path) => path.trim()).filter((path) => path !== "");
      const unknown = paths.filter((path) => !REQUIRED_ORDER_FIELD_PATHS.includes(path));
      if (unknown.length > 0) {
        ctx.addIssue({
          code: "custom",
          message: `names ${unknown.map((path) => JSON.stringify(path)).join(", ")}, not a ` +
            `required-field path; use billingAddress, shippingAddress or billingAddress.<field> ` +
            `(${
              REQUIRED_ORDER_FIELD_PATHS.filter((path) => path.startsWith("billingAddress."))
                .map((path) => path.slice("billingAddress.".length)).join(", ")
            })`,
        });
        return z.NEVER;
      }
      return paths;
    }).optional(),
    example: "billingAddress.zipCode,billingAddress.phone,shippingAddress",
  },
  CHECK_CART_TOTAL: {
    schema: z.enum(["true", "false"], "must be true or false").default("false")
      .transform((value) => value === "true"),
    example: "true",
  },
  BACKUP_DIR: { schema: nonEmpty.optional(), example: "/var/backups/psp" },
  BACKUP_EVERY: { schema: duration(7 * 24 * 3_600_000).default(3_600_000), example: "1h" },
  BACKUP_KEEP: { schema: int(1, 10_000).default(48), example: "48" },
  REDIRECT_ABANDON_AFTER: {
    schema: duration(30 * 24 * 3_600_000).default(1_800_000),
    example: "30m",
  },
} satisfies Record<string, Variable<unknown>>;

type Parsed = { [K in keyof typeof VARIABLES]: z.output<(typeof VARIABLES)[K]["schema"]> };

/** The names of every environment variable the service reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(VARIABLES);

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

/**
 * Reads and validates configuration from an environment map (by default the process env).
 * Empty strings count as unset. Throws {@link ConfigError} listing every bad variable.
 */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Config {
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
  const p = parsed as Parsed;
  crossCheck(p);
  // On Deno Deploy the app's provisioned database; a local file would vanish with the isolate.
  const kvPath = p.KV_PATH ?? (env.DENO_DEPLOYMENT_ID ? DEPLOY_KV : "./data/psp.sqlite3");
  if (p.BACKUP_DIR !== undefined && !isLocalKvFile(kvPath)) {
    throw new ConfigError([
      `BACKUP_DIR copies a local KV file, and KV_PATH=${kvPath} is not one: Deno Deploy and ` +
      "remote KV are backed up where they run (see docs/operations.md); unset BACKUP_DIR",
    ]);
  }
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
